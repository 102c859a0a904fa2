#pragma once
// One-file checkpoints: every model, optimizer and schedule state, BEGAN k, RNG
// states, stage/epoch/step, best metric and the config, written with
// torch::serialize::OutputArchive to a temporary file and renamed, so an
// interruption never leaves a broken checkpoint.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include "dkd/config/kinds.h"

namespace dkd {

struct CheckpointMeta {
  std::optional<StageKind> stage;  ///< stage being trained (none when all are done)
  std::vector<StageKind> completed_stages;
  int64_t epoch = 0;          ///< epochs completed in `stage`
  int64_t iter_in_epoch = 0;  ///< steps done in the current epoch (0 at an epoch end)
  int64_t step = 0;           ///< steps done in `stage`
  int64_t global_step = 0;    ///< steps done over all stages
  double best_metric = -1.0;  ///< best validation PCK of `stage` (-1: none yet)
  int64_t best_epoch = -1;
  double began_k = 0.0;
  int64_t world_size = 1;
  std::string config_yaml;  ///< resolved config of the run
};

using ModuleMap = std::map<std::string, torch::nn::Module*>;
using OptimizerMap = std::map<std::string, torch::optim::Optimizer*>;

/// Writes `path` atomically (temporary file + rename). Also stores the CPU RNG state.
void save_checkpoint(const std::string& path, const CheckpointMeta& meta, const ModuleMap& modules,
                     const OptimizerMap& optimizers);

/// Reads meta only (cheap enough: the archive is parsed, tensors are not copied into modules).
CheckpointMeta read_checkpoint_meta(const std::string& path);

/// Loads `path` into the given modules and optimizers (all must be present in
/// the file unless `allow_missing`) and restores the CPU RNG state. Errors name
/// the file and the part that does not fit.
CheckpointMeta load_checkpoint(const std::string& path, const ModuleMap& modules, const OptimizerMap& optimizers,
                               bool allow_missing = false);

/// Loads only the weights of the named modules (inference / evaluation). A
/// module absent from the checkpoint or with other shapes is an Error naming
/// the checkpoint, the module and the mismatch ("does it match the config?").
void load_model_weights(const std::string& path, const ModuleMap& modules);

/// Names of the models stored in a checkpoint ("initializer", "encoder", ...).
std::vector<std::string> checkpoint_models(const std::string& path);

}  // namespace dkd
