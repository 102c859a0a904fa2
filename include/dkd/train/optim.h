#pragma once
// Optimizers (Adam, SGD with momentum/Nesterov, RMSprop) and the learning-rate
// schedule (linear warm-up, then constant, multistep or cosine), from train.*.
#include <cstdint>
#include <memory>
#include <vector>

#include <torch/optim/optimizer.h>

#include "dkd/config/config.h"

namespace dkd {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(std::vector<torch::Tensor> params, const TrainConfig& train,
                                                        double lr);

/// Learning rate at a step of a stage: warm-up over train.warmup_iters steps,
/// then multistep (decay by train.gamma at each of stage.milestones epochs),
/// cosine (to 0 at the last step) or constant.
class LrSchedule {
 public:
  LrSchedule(const TrainConfig& train, const StageConfig& stage, double base_lr, int64_t steps_per_epoch);
  double lr_at(int64_t step) const;
  double base_lr() const { return base_lr_; }

 private:
  ScheduleKind kind_;
  double base_lr_;
  double gamma_;
  int64_t warmup_;
  int64_t steps_per_epoch_;
  int64_t total_steps_;
  std::vector<int> milestones_;
};

void set_lr(torch::optim::Optimizer& optimizer, double lr);

/// Clips the global gradient norm of `params` to `max_norm` (no-op when 0); returns the norm before clipping.
double clip_gradients(const std::vector<torch::Tensor>& params, double max_norm);

}  // namespace dkd
