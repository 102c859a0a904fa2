#pragma once
// Training: the per-frame stages (initializer, baseline) and the DKD stage with
// temporally adversarial training, writing a work dir with the resolved config,
// log.txt, metrics.jsonl, checkpoints/, last_checkpoint and best.pt.
#include <string>

#include "dkd/config/config.h"

namespace dkd {

struct TrainOptions {
  std::string work_dir;              ///< overrides train.work_dir when not empty
  bool resume = false;               ///< continue from <work_dir>/last_checkpoint
  bool force = false;                ///< a new run in a work dir holding a run moves that run aside
  bool resume_with_changes = false;  ///< --resume with a config that differs from the stored one
  std::string resume_checkpoint;     ///< set by resolve_run_config: the verified checkpoint to resume
};

/// The work dir a config trains into: options.work_dir, else train.work_dir,
/// else work_dirs/<config file stem>.
std::string resolve_work_dir(const Config& config, const TrainOptions& options);

/// Runs train.stages in order. Returns the tool exit code (0 done, 130 stopped
/// by a signal after saving a checkpoint). Throws dkd::Error on failure.
int run_training(const Config& config, const TrainOptions& options);

}  // namespace dkd
