#include "dkd/train/stage.h"

#include <torch/torch.h>

#include "dkd/dist/gradient_reducer.h"
#include "dkd/train/optim.h"

namespace dkd {

int64_t Stage::trainable_parameters() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

SingleOptimizer::SingleOptimizer() = default;
SingleOptimizer::~SingleOptimizer() = default;

void SingleOptimizer::prepare(torch::nn::Module& module, const StageContext& context, double lr) {
  grad_clip_ = context.config.train.grad_clip;
  params_ = module.parameters();
  optimizer_ = make_optimizer(params_, context.config.train, lr);
  reducer_ = std::make_unique<GradientReducer>(context.dist, params_, context.config.dist.bucket_mb);
}

void SingleOptimizer::update(const torch::Tensor& loss) {
  optimizer_->zero_grad();
  loss.backward();
  reducer_->reduce();
  clip_gradients(params_, grad_clip_);
  optimizer_->step();
}

void SingleOptimizer::set_lr(double lr) { dkd::set_lr(*optimizer_, lr); }

std::unique_ptr<Stage> make_stage(StageKind kind, StageContext context) {
  switch (kind) {
    case StageKind::initializer:
    case StageKind::baseline:
      return make_per_frame_stage(kind, context);
    case StageKind::dkd:
      return make_dkd_stage(context);
    case StageKind::box:
      return make_box_stage(context);
  }
  throw Error("unknown stage");
}

}  // namespace dkd
