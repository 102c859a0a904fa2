// The per-frame stages (initializer, baseline): each sample is one frame, the
// loss is the visibility-weighted heatmap MSE.
#include <torch/torch.h>

#include "dkd/data/loader.h"
#include "dkd/dist/gradient_reducer.h"
#include "dkd/train/losses.h"
#include "dkd/train/mixed_precision.h"
#include "dkd/train/optim.h"
#include "dkd/train/stage.h"

namespace dkd {

namespace {

/// The network a per-frame stage trains.
PerFrameModel per_frame_model_of(StageKind kind, const ModelSet& models) {
  switch (kind) {
    case StageKind::initializer:
      return models.initializer;
    case StageKind::baseline:
      return models.baseline;
    case StageKind::dkd:
    case StageKind::box:
      break;
  }
  throw Error(std::string("stage ") + name_of(kind) + " is not a per-frame stage");
}

class PerFrameStage final : public Stage {
 public:
  PerFrameStage(StageKind kind, StageContext context)
      : Stage(context),
        kind_(kind),
        model_(per_frame_model_of(kind, context.models)),
        bfloat16_(stage_config(ctx_.config.train, kind).precision == Precision::bfloat16) {
    check_training_precision(std::string("train.") + name_of(kind) + ".precision",
                             stage_config(ctx_.config.train, kind).precision, ctx_.device);
  }

  StageKind kind() const override { return kind_; }

  void prepare(double lr) override {
    params_ = model_->parameters();
    optimizer_ = make_optimizer(params_, ctx_.config.train, lr);
    reducer_ = std::make_unique<GradientReducer>(ctx_.dist, params_, ctx_.config.dist.bucket_mb);
  }

  LossTerms step(const Batch& batch, int64_t /*step*/, double /*progress*/) override {
    // Per-frame stages see clips of one frame: [B, 1, ...] -> [B, ...].
    const auto images = batch.images.to(ctx_.device).flatten(0, 1);
    const auto targets = batch.heatmaps.to(ctx_.device).flatten(0, 1);
    const auto weights = batch.weights.to(ctx_.device).flatten(0, 1);
    torch::Tensor heatmaps;
    {
      // train.<stage>.precision: the forward in bfloat16 where asked; the loss and backward from float heatmaps.
      AutocastGuard autocast(ctx_.device, bfloat16_);
      heatmaps = model_->forward(images);
    }
    const auto loss = heatmap_mse(heatmaps.to(torch::kFloat), targets, weights);
    optimizer_->zero_grad();
    loss.backward();
    reducer_->reduce();
    clip_gradients(params_, ctx_.config.train.grad_clip);
    optimizer_->step();
    return {{"loss_pose", loss.item<double>()}};
  }

  void set_lr(double lr) override { dkd::set_lr(*optimizer_, lr); }
  torch::nn::Module& trained() override { return *model_; }
  std::vector<torch::Tensor> parameters() const override { return params_; }
  OptimizerMap optimizers() override { return {{"pose", optimizer_.get()}}; }

 private:
  StageKind kind_;
  PerFrameModel model_;
  bool bfloat16_;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<GradientReducer> reducer_;
};

}  // namespace

std::unique_ptr<Stage> make_per_frame_stage(StageKind kind, StageContext context) {
  return std::make_unique<PerFrameStage>(kind, context);
}

}  // namespace dkd
