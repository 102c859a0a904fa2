#pragma once
// Single-machine launcher: `dkd_train --nproc N ...` starts N ranks of itself.
//
// Each rank is /proc/self/exe re-executed with the same arguments minus the
// --nproc flag and with RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR=127.0.0.1 and MASTER_PORT=<a free port> set (the torchrun
// conventions, so the ranks run exactly the code path torchrun would give).
// Each rank runs in a process group of its own, so a terminal's Ctrl-C reaches
// only the launcher; the first SIGINT/SIGTERM it receives is forwarded once to
// every rank, which then save one checkpoint of the same step and exit (130 /
// 143); ranks still running after stop_grace_s are killed. A second signal to
// the launcher kills the ranks at once. Ranks die with the launcher
// (PR_SET_PDEATHSIG), so `kill -9` of the launcher leaves no rank behind (and
// no checkpoint). When a rank fails, the others get SIGTERM, then SIGKILL after
// kill_grace_s, and the launcher returns the first failing rank's code (128 +
// signal for a rank killed by a signal).
#include <string>
#include <vector>

namespace dkd {

struct LaunchOptions {
  /// Seconds between SIGTERM and SIGKILL for the ranks still running after a failure.
  double kill_grace_s = 10.0;
  /// Seconds the ranks get to save a checkpoint after a forwarded Ctrl-C/SIGTERM
  /// before SIGKILL (dist.stop_grace_s).
  double stop_grace_s = 600.0;
  /// 0: pick a free port on 127.0.0.1.
  int master_port = 0;
  /// Executable to start; empty: /proc/self/exe.
  std::string executable;
};

/// Finds "--nproc N" or "--nproc=N" in argv. Returns N (0 when absent) and
/// fills `rest` with the other arguments (argv[0] included). UsageError on a
/// missing or non-positive value.
int parse_nproc_flag(int argc, char** argv, std::vector<std::string>* rest);

/// Starts `nproc` ranks running `args` (args[0] is passed as argv[0]; the
/// executable is options.executable or /proc/self/exe), waits for all of them
/// and returns 0 when all succeed, otherwise the first failing rank's code.
int launch_local_ranks(int nproc, const std::vector<std::string>& args, const LaunchOptions& options = {});

/// Convenience form for main(): strips --nproc from argv and launches.
int launch_local_ranks(int nproc, int argc, char** argv, const LaunchOptions& options = {});

}  // namespace dkd
