#include "dkd/train/optim.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>
#include <torch/optim/rmsprop.h>
#include <torch/optim/sgd.h>

#include <cmath>

#include "dkd/util/error.h"

namespace dkd {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(std::vector<torch::Tensor> params, const TrainConfig& train,
                                                        double lr) {
  switch (train.optimizer) {
    case OptimizerKind::adam:
      return std::make_unique<torch::optim::Adam>(std::move(params),
                                                  torch::optim::AdamOptions(lr).weight_decay(train.weight_decay));
    case OptimizerKind::sgd:
      return std::make_unique<torch::optim::SGD>(std::move(params), torch::optim::SGDOptions(lr)
                                                                        .momentum(train.momentum)
                                                                        .nesterov(train.nesterov)
                                                                        .weight_decay(train.weight_decay));
    case OptimizerKind::rmsprop:
      return std::make_unique<torch::optim::RMSprop>(
          std::move(params),
          torch::optim::RMSpropOptions(lr).momentum(train.momentum).weight_decay(train.weight_decay));
  }
  throw ConfigError("train.optimizer: unknown optimizer");
}

LrSchedule::LrSchedule(const TrainConfig& train, const StageConfig& stage, double base_lr, int64_t steps_per_epoch)
    : kind_(train.schedule),
      base_lr_(base_lr),
      gamma_(train.gamma),
      warmup_(train.warmup_iters),
      steps_per_epoch_(std::max<int64_t>(1, steps_per_epoch)),
      total_steps_(std::max<int64_t>(1, steps_per_epoch * stage.epochs)),
      milestones_(stage.milestones) {
  if (stage.max_iters > 0) total_steps_ = std::min<int64_t>(total_steps_, stage.max_iters);
}

double LrSchedule::lr_at(int64_t step) const {
  double lr = base_lr_;
  switch (kind_) {
    case ScheduleKind::constant:
      break;
    case ScheduleKind::multistep: {
      const int64_t epoch = step / steps_per_epoch_;
      for (int m : milestones_)
        if (epoch >= m) lr *= gamma_;
      break;
    }
    case ScheduleKind::cosine: {
      const double t = std::min(1.0, static_cast<double>(step) / static_cast<double>(total_steps_));
      lr = base_lr_ * 0.5 * (1.0 + std::cos(M_PI * t));
      break;
    }
  }
  if (warmup_ > 0 && step < warmup_) {
    // Linear from 1/warmup of the rate to the full rate.
    lr *= static_cast<double>(step + 1) / static_cast<double>(warmup_);
  }
  return lr;
}

void set_lr(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

double clip_gradients(const std::vector<torch::Tensor>& params, double max_norm) {
  if (max_norm <= 0) return 0.0;
  return torch::nn::utils::clip_grad_norm_(params, max_norm);
}

}  // namespace dkd
