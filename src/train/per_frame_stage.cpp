// The per-frame stages (initializer, baseline): each sample is one frame, the
// loss is the visibility-weighted heatmap MSE.
#include <torch/torch.h>

#include "dkd/data/loader.h"
#include "dkd/train/losses.h"
#include "dkd/train/mixed_precision.h"
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

  void prepare(double lr) override { update_.prepare(*model_, ctx_, lr); }

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
    update_.update(loss);
    return {{"loss_pose", loss.item<double>()}};
  }

  void set_lr(double lr) override { update_.set_lr(lr); }
  torch::nn::Module& trained() override { return *model_; }
  std::vector<torch::Tensor> parameters() const override { return update_.parameters(); }
  OptimizerMap optimizers() override { return {{"pose", update_.optimizer()}}; }

 private:
  StageKind kind_;
  PerFrameModel model_;
  bool bfloat16_;
  SingleOptimizer update_;
};

}  // namespace

std::unique_ptr<Stage> make_per_frame_stage(StageKind kind, StageContext context) {
  return std::make_unique<PerFrameStage>(kind, context);
}

}  // namespace dkd
