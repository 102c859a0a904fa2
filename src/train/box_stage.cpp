// The box stage: the tracker's box network (models/box_net.h). Each sample is
// one frame cropped around its ground-truth box moved by up to train.box_shift
// of the crop per axis and scaled by 1 +- train.box_scale, without rotation
// (a tracker's crops are upright); the loss is the smooth L1 distance between
// the predicted and the true box code (centre in crop sides, log size).
#include <torch/torch.h>

#include "dkd/data/loader.h"
#include "dkd/models/box_net.h"
#include "dkd/train/stage.h"

namespace dkd {

namespace {

class BoxStage final : public Stage {
 public:
  explicit BoxStage(StageContext context) : Stage(context), model_(context.models.box) {
    if (!model_) throw Error("stage box: the model set has no box network");
  }

  StageKind kind() const override { return StageKind::box; }
  const char* main_loss() const override { return "loss_box"; }

  DataConfig training_data(const DataConfig& data) const override {
    DataConfig d = data;
    d.shift_factor = ctx_.config.train.box_shift;
    d.scale_factor = ctx_.config.train.box_scale;
    d.rotation = 0.0;
    return d;
  }

  std::vector<std::string> extra_training_roots() const override {
    if (ctx_.config.train.box_data.empty()) return {};
    return {ctx_.config.train.box_data};
  }

  void prepare(double lr) override { update_.prepare(*model_, ctx_, lr); }

  LossTerms step(const Batch& batch, int64_t /*step*/, double /*progress*/) override {
    // One frame per sample: [B, 1, ...] -> [B, ...].
    const auto images = batch.images.to(ctx_.device).flatten(0, 1);
    const auto targets = batch.boxes.to(ctx_.device).flatten(0, 1);
    const BoxNetOutput out = model_->forward(images);
    const auto loss = box_edge_loss(out, box_codes_to_edges(targets));
    // Reported, not optimised: how far off the expected box is (crop sides; |log| of the size).
    torch::Tensor centre, size;
    {
      torch::NoGradGuard no_grad;
      centre = (out.codes.slice(1, 0, 2) - targets.slice(1, 0, 2)).abs().mean();
      size = (out.codes.slice(1, 2, 4) - targets.slice(1, 2, 4)).abs().mean();
    }
    update_.update(loss);
    return {{"loss_box", loss.item<double>()},
            {"loss_box_centre", centre.item<double>()},
            {"loss_box_size", size.item<double>()}};
  }

  void set_lr(double lr) override { update_.set_lr(lr); }
  torch::nn::Module& trained() override { return *model_; }
  std::vector<torch::Tensor> parameters() const override { return update_.parameters(); }
  OptimizerMap optimizers() override { return {{"box", update_.optimizer()}}; }

 private:
  BoxNet model_;
  SingleOptimizer update_;
};

}  // namespace

std::unique_ptr<Stage> make_box_stage(StageContext context) { return std::make_unique<BoxStage>(context); }

}  // namespace dkd
