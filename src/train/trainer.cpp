// Temporary: replaced by the full trainer once the data loader lands.
#include "dkd/train/trainer.h"

#include <filesystem>

#include "dkd/util/error.h"

namespace dkd {

std::string resolve_work_dir(const Config& config, const TrainOptions& options) {
  if (!options.work_dir.empty()) return options.work_dir;
  if (!config.train.work_dir.empty()) return config.train.work_dir;
  const std::string stem =
      config.source_path.empty() ? "run" : std::filesystem::path(config.source_path).stem().string();
  return (std::filesystem::path("work_dirs") / stem).string();
}

int run_training(const Config&, const TrainOptions&) { throw Error("the trainer is not built into this revision"); }

}  // namespace dkd
