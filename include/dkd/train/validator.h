#pragma once
// The trainer's validation collaborator: PCK of a model on the validation
// videos (held-out training videos, never the test split), the counts summed
// over ranks, logged and written to metrics.jsonl as a "val" line.
#include <cstdint>
#include <string>
#include <vector>

#include <c10/core/Device.h>

#include "dkd/config/config.h"
#include "dkd/data/video.h"
#include "dkd/models/model_set.h"

namespace dkd {

class DistContext;
class MetricsWriter;

class Validator {
 public:
  /// `metrics` may be null (ranks other than 0 write nothing).
  Validator(const Config& config, std::vector<VideoRecord> videos, DistContext& dist, c10::Device device, int rank,
            int world_size, MetricsWriter* metrics);

  bool empty() const { return videos_.empty(); }
  std::size_t size() const { return videos_.size(); }
  /// Mean PCK over joints of `kind` in `models` (-1 when there are no videos).
  /// `stage`, `epoch` and `step` label the log and the metrics line.
  double validate(ModelSet& models, ModelKind kind, const std::string& stage, int64_t epoch, int64_t step);
  /// The box network's accuracy (% of frames, eval/box_accuracy.h) in crops
  /// around moved ground-truth boxes: the box stage's measure for best.pt.
  double validate_boxes(ModelSet& models, const std::string& stage, int64_t epoch, int64_t step);

 private:
  const Config& config_;
  std::vector<VideoRecord> videos_;
  DistContext& dist_;
  c10::Device device_;
  int rank_;
  int world_size_;
  MetricsWriter* metrics_;
};

}  // namespace dkd
