#pragma once
// dkd_train's command line -> the config it trains with (new run or resume).
#include "dkd/app/cli.h"
#include "dkd/config/config.h"
#include "dkd/train/trainer.h"

namespace dkd {

/// The config a dkd_train invocation trains with. A new run: --config with
/// --set. A --resume: the config stored in the checkpoint it resumes (the work
/// dir comes from --work-dir, or from --config); a --config or --set that
/// differs from it is a UsageError listing the differing keys unless
/// options.resume_with_changes, which trains with the given config instead.
/// Fills options.work_dir and options.resume_checkpoint.
Config resolve_run_config(const ConfigOptions& cli, TrainOptions& options);

}  // namespace dkd
