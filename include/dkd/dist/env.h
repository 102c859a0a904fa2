#pragma once
// Launch environment of one rank: the variables torchrun sets (RANK, WORLD_SIZE,
// LOCAL_RANK, MASTER_ADDR, MASTER_PORT), also set by dkd's own local launcher
// (dkd/dist/launcher.h). Without RANK/WORLD_SIZE the run is single-process.
#include <string>

namespace dkd {

struct DistEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  /// Ranks on this machine (LOCAL_WORLD_SIZE; world_size when unset).
  int local_world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  /// torchrun (elastic agent) runs the TCPStore itself: every rank is a client
  /// and keys live under "/worker/attempt_<restart_count>" (as in PyTorch's env://).
  bool use_agent_store = false;
  int restart_count = 0;

  /// True when more than one rank takes part.
  bool enabled() const { return world_size > 1; }
  bool is_main() const { return rank == 0; }
  /// "rank 1/2 (local 1) at 127.0.0.1:29500" for log lines.
  std::string describe() const;
};

/// Reads and validates the torchrun variables. None set: single process
/// (rank 0 of 1). Partial or bad values: ConfigError naming the variable and
/// value (e.g. "RANK=3 is not below WORLD_SIZE=2"). MASTER_ADDR defaults to
/// 127.0.0.1 and MASTER_PORT to 29500 only when WORLD_SIZE is 1.
DistEnv dist_env_from_environment();

/// Intra-op threads for one rank: `configured` when > 0 (runtime.threads),
/// otherwise the machine's cores divided among the local ranks (at least 1),
/// so N ranks on one machine do not oversubscribe it.
int threads_per_rank(int configured, const DistEnv& env);

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0).
int find_free_port();

}  // namespace dkd
