#pragma once
// What a checkpoint must remember about the distributed run: the world size.
// Resuming with another number of ranks would change the effective batch, the
// data shards and the learning-rate schedule, so it is refused.
#include <string>

#include <nlohmann/json.hpp>

namespace dkd {

/// Key under which the world size is stored in checkpoint metadata.
inline constexpr const char* kCheckpointWorldSizeKey = "world_size";

/// meta["world_size"] = world_size.
void store_world_size(nlohmann::json& meta, int world_size);

/// UsageError when the checkpoint was written with another world size, e.g.
/// "cannot resume 'run/ckpt.pt': it was written by 2 ranks, this run has 4.
///  Resume with --nproc 2 (or torchrun --nproc-per-node 2) or start a fresh run."
void check_resume_world_size(int saved_world_size, int current_world_size, const std::string& checkpoint);

/// Same, reading meta["world_size"]; metadata without it counts as 1 rank.
void check_resume_world_size(const nlohmann::json& meta, int current_world_size, const std::string& checkpoint);

}  // namespace dkd
