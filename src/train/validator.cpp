#include "dkd/train/validator.h"

#include <torch/torch.h>

#include <chrono>

#include "dkd/dist/process_group.h"
#include "dkd/eval/model_eval.h"
#include "dkd/eval/pck.h"
#include "dkd/train/work_dir.h"
#include "dkd/util/logging.h"

namespace dkd {

Validator::Validator(const Config& config, std::vector<VideoRecord> videos, DistContext& dist, c10::Device device,
                     int rank, int world_size, MetricsWriter* metrics)
    : config_(config),
      videos_(std::move(videos)),
      dist_(dist),
      device_(device),
      rank_(rank),
      world_size_(world_size),
      metrics_(metrics) {}

double Validator::validate(ModelSet& models, ModelKind kind, const std::string& stage, int64_t epoch, int64_t step) {
  if (videos_.empty()) return -1.0;
  for (auto& [name, module] : models.modules()) dist_.sync_batchnorm_stats(*module);
  const auto start = std::chrono::steady_clock::now();
  EvalModel model = EvalModel::of(models, kind);
  PckOptions options = pck_options_of(config_, "val");
  // A fixed action list fixes the layout of the counts summed across ranks.
  options.actions = actions_of(videos_);
  PckEvaluator evaluator(config_.data.dataset, options);
  run_model_on_videos(model, videos_, config_, device_, evaluator, rank_, world_size_);
  if (dist_.enabled()) {
    auto counts = torch::tensor(evaluator.counts(), torch::kFloat64);
    dist_.all_reduce_sum(counts);
    const auto* p = counts.data_ptr<double>();
    evaluator.set_counts(std::vector<double>(p, p + counts.numel()));
  }
  const EvalResult result = evaluator.evaluate();
  const double pck = result.pck.mean_joints;
  spdlog::info(
      "validation {} epoch {}: PCK@{} mean over joints {:.2f} (columns {:.2f}, pooled {:.2f}), torso {:.2f} "
      "[{:.1f} s]",
      stage, epoch, config_.eval.pck_threshold, pck, result.pck.mean_columns, result.pck.pooled,
      result.pck_torso.mean_joints, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (metrics_) {
    nlohmann::json j = {{"type", "val"},
                        {"stage", stage},
                        {"epoch", epoch},
                        {"step", step},
                        {"pck", pck},
                        {"pck_mean_columns", result.pck.mean_columns},
                        {"pck_pooled", result.pck.pooled},
                        {"pck_torso", result.pck_torso.mean_joints},
                        {"videos", videos_.size()}};
    // Which videos chose best.pt: auditable, and never the test split.
    for (const auto& v : videos_) j["video_ids"].push_back(v.id);
    for (std::size_t c = 0; c < result.pck.columns.size(); ++c)
      j["pck_columns"][result.pck.column_names[c]] = result.pck.columns[c];
    metrics_->write(j);
  }
  return pck;
}

}  // namespace dkd
