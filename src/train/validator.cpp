#include "dkd/train/validator.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "dkd/dist/process_group.h"
#include "dkd/eval/box_accuracy.h"
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

double Validator::validate_boxes(ModelSet& models, const std::string& stage, int64_t epoch, int64_t step) {
  if (videos_.empty()) return -1.0;
  dist_.sync_batchnorm_stats(*models.box);
  const auto start = std::chrono::steady_clock::now();
  BoxAccuracy a = measure_box_accuracy(models.box, videos_, config_, device_, rank_, world_size_);
  if (dist_.enabled()) {
    std::vector<double> v{static_cast<double>(a.frames), a.hits, a.centre_error_sum, a.size_error_sum};
    for (int c = 0; c < 3; ++c) {
      v.push_back(a.centre_error_by_shift[static_cast<std::size_t>(c)]);
      v.push_back(static_cast<double>(a.frames_by_shift[static_cast<std::size_t>(c)]));
    }
    auto sums = torch::tensor(v, torch::kFloat64);
    dist_.all_reduce_sum(sums);
    const auto* p = sums.data_ptr<double>();
    a.frames = static_cast<int64_t>(std::llround(p[0]));
    a.hits = p[1];
    a.centre_error_sum = p[2];
    a.size_error_sum = p[3];
    for (std::size_t c = 0; c < 3; ++c) {
      a.centre_error_by_shift[c] = p[4 + 2 * c];
      a.frames_by_shift[c] = static_cast<int64_t>(std::llround(p[5 + 2 * c]));
    }
  }
  spdlog::info(
      "validation {} epoch {}: box accuracy {:.2f}% of {} frames (centre within 5% of the box, size within 10%), "
      "centre error {:.2f}% of the box (crop not moved {:.2f}%, moved half train.box_shift {:.2f}%, all of it "
      "{:.2f}%), size error {:.3f} (|log|) [{:.1f} s]",
      stage, epoch, a.accuracy(), a.frames, a.mean_centre_error(), a.mean_centre_error_at(0), a.mean_centre_error_at(1),
      a.mean_centre_error_at(2), a.mean_size_error(),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (metrics_) {
    nlohmann::json j = {{"type", "val"},
                        {"stage", stage},
                        {"epoch", epoch},
                        {"step", step},
                        {"box_accuracy", a.accuracy()},
                        {"box_centre_error", a.mean_centre_error()},
                        {"box_size_error", a.mean_size_error()},
                        {"box_centre_error_by_shift",
                         {a.mean_centre_error_at(0), a.mean_centre_error_at(1), a.mean_centre_error_at(2)}},
                        {"frames", a.frames},
                        {"videos", videos_.size()}};
    for (const auto& v : videos_) j["video_ids"].push_back(v.id);
    metrics_->write(j);
  }
  return a.accuracy();
}

}  // namespace dkd
