// The stage interface: each kind builds the stage that trains its model, a
// step returns named finite loss terms and updates the parameters, and the
// stage's extra state (BEGAN's k) goes through a checkpoint's meta.
#include "dkd/train/stage.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common.h"
#include "dkd/data/loader.h"
#include "dkd/data/transforms.h"
#include "dkd/dist/process_group.h"
#include "dkd/models/model_set.h"
#include "dkd/train/losses.h"

namespace dkd {
namespace {

/// B samples of T frames of noise with Gaussian-ish targets, identity crops.
Batch random_batch(const Config& c, int64_t B, int64_t T) {
  torch::manual_seed(3);
  const int64_t J = c.model.num_joints, H = c.data.input_size[1], W = c.data.input_size[0];
  Batch b;
  b.images = torch::randn({B, T, 3, H, W});
  b.heatmaps = torch::rand({B, T, J, H / 4, W / 4});
  b.weights = torch::ones({B, T, J});
  b.transforms.assign(static_cast<std::size_t>(B), std::vector<CropTransform>(static_cast<std::size_t>(T)));
  return b;
}

double max_change(const std::vector<torch::Tensor>& before, const std::vector<torch::Tensor>& after) {
  double m = 0.0;
  for (std::size_t i = 0; i < before.size(); ++i) m = std::max(m, (before[i] - after[i]).abs().max().item<double>());
  return m;
}

struct Fixture {
  Config config = test::tiny_config();
  DistContext dist;
  ModelSet models;
  Fixture() {
    config.data.clip_length = 3;
    config.model.discriminator.channels = 4;
    config.model.discriminator.embedding = 8;
    torch::manual_seed(0);
    models = build_model_set(config, torch::kCPU);
  }
  StageContext context() { return StageContext{config, models, dist, torch::kCPU}; }
};

TEST(Stage, EachKindTrainsAndValidatesItsOwnModel) {
  Fixture f;
  for (const StageKind kind : {StageKind::initializer, StageKind::baseline, StageKind::dkd}) {
    const auto stage = make_stage(kind, f.context());
    EXPECT_EQ(stage->kind(), kind);
    EXPECT_EQ(stage->validated_model(), pose_model_of(kind));
    EXPECT_EQ(stage->clip_length(), kind == StageKind::dkd ? 3 : 1);
    EXPECT_STREQ(stage->sample_unit(), kind == StageKind::dkd ? "clips" : "frames");
  }
  EXPECT_EQ(&make_stage(StageKind::initializer, f.context())->trained(), f.models.initializer.ptr().get());
  EXPECT_EQ(&make_stage(StageKind::baseline, f.context())->trained(), f.models.baseline.ptr().get());
  EXPECT_EQ(&make_stage(StageKind::dkd, f.context())->trained(), f.models.dkd.ptr().get());
  const auto box = make_stage(StageKind::box, f.context());
  EXPECT_EQ(&box->trained(), f.models.box.ptr().get());
  EXPECT_FALSE(box->validated_model().has_value());  // validated by its boxes, not by PCK
  EXPECT_STREQ(box->main_loss(), "loss_box");
}

TEST(Stage, BoxStageMovesItsCropsAndLearnsWhereTheBoxIs) {
  Fixture f;
  f.config.train.box_shift = 0.3;
  f.config.train.box_scale = 0.2;
  f.config.data.rotation = 25;
  const auto stage = make_stage(StageKind::box, f.context());
  const DataConfig d = stage->training_data(f.config.data);
  EXPECT_DOUBLE_EQ(d.shift_factor, 0.3);
  EXPECT_DOUBLE_EQ(d.scale_factor, 0.2);
  EXPECT_DOUBLE_EQ(d.rotation, 0.0);  // a tracker's crops are upright
  EXPECT_EQ(make_stage(StageKind::baseline, f.context())->training_data(f.config.data).rotation, 25);

  // The same batch, stepped: the loss falls and only the box network changes.
  Batch batch = random_batch(f.config, 4, 1);
  torch::manual_seed(5);
  batch.boxes = torch::randn({4, 1, 4}) * 0.2;
  stage->prepare(5e-3);
  std::vector<torch::Tensor> init_before;
  for (const auto& p : f.models.initializer->parameters()) init_before.push_back(p.detach().clone());
  const LossTerms first = stage->step(batch, 0, 0.0);
  for (const char* name : {"loss_box", "loss_box_centre", "loss_box_size"}) {
    ASSERT_EQ(first.count(name), 1u) << name;
    EXPECT_TRUE(std::isfinite(first.at(name))) << name;
  }
  LossTerms last;
  for (int i = 1; i < 30; ++i) last = stage->step(batch, i, 0.0);
  EXPECT_LT(last.at("loss_box"), 0.5 * first.at("loss_box"));
  std::vector<torch::Tensor> init_after;
  for (const auto& p : f.models.initializer->parameters()) init_after.push_back(p.detach());
  EXPECT_EQ(max_change(init_before, init_after), 0.0);
  EXPECT_EQ(stage->optimizers().count("box"), 1u);
}

TEST(Stage, PerFrameStepReturnsTheLossAndUpdatesOnlyItsModel) {
  Fixture f;
  const auto stage = make_stage(StageKind::baseline, f.context());
  stage->prepare(1e-3);
  EXPECT_GT(stage->trainable_parameters(), 0);
  std::vector<torch::Tensor> before, init_before;
  for (const auto& p : stage->parameters()) before.push_back(p.detach().clone());
  for (const auto& p : f.models.initializer->parameters()) init_before.push_back(p.detach().clone());
  const LossTerms terms = stage->step(random_batch(f.config, 2, 1), 0, 0.0);
  ASSERT_EQ(terms.count("loss_pose"), 1u);
  EXPECT_TRUE(std::isfinite(terms.at("loss_pose")));
  std::vector<torch::Tensor> after, init_after;
  for (const auto& p : stage->parameters()) after.push_back(p.detach());
  for (const auto& p : f.models.initializer->parameters()) init_after.push_back(p.detach());
  EXPECT_GT(max_change(before, after), 0.0);
  EXPECT_EQ(max_change(init_before, init_after), 0.0);
  EXPECT_EQ(stage->optimizers().count("pose"), 1u);
}

TEST(Stage, DkdStepTrainsTheDiscriminatorAndKeepsBeganKInTheCheckpointMeta) {
  Fixture f;
  f.config.train.adversarial.enabled = true;
  f.config.train.adversarial.k_init = 0.25;
  f.config.train.freeze_initializer = true;
  const auto stage = make_stage(StageKind::dkd, f.context());
  stage->prepare(1e-3);
  stage->reset_state();
  // The frozen initializer is not among the trained parameters; the discriminator is updated too.
  EXPECT_EQ(stage->optimizers().count("discriminator"), 1u);
  EXPECT_GT(stage->updated_tensors().size(), stage->parameters().size());
  std::vector<torch::Tensor> init_before;
  for (const auto& p : f.models.initializer->parameters()) init_before.push_back(p.detach().clone());
  const LossTerms terms = stage->step(random_batch(f.config, 2, 3), 0, 0.0);
  for (const char* name : {"loss_pose", "loss_g_adv", "d_real", "d_fake", "d_loss", "began_k", "began_m"}) {
    ASSERT_EQ(terms.count(name), 1u) << name;
    EXPECT_TRUE(std::isfinite(terms.at(name))) << name;
  }
  std::vector<torch::Tensor> init_after;
  for (const auto& p : f.models.initializer->parameters()) init_after.push_back(p.detach());
  EXPECT_EQ(max_change(init_before, init_after), 0.0);
  EXPECT_NE(stage->status(terms).find(" k "), std::string::npos);

  CheckpointMeta meta;
  stage->save_state(meta);
  EXPECT_DOUBLE_EQ(meta.began_k, terms.at("began_k"));
  meta.began_k = 0.75;
  stage->load_state(meta);
  CheckpointMeta back;
  stage->save_state(back);
  EXPECT_DOUBLE_EQ(back.began_k, 0.75);
  stage->reset_state();
  stage->save_state(back);
  EXPECT_DOUBLE_EQ(back.began_k, 0.25);
}

TEST(Stage, DkdStepWithInitializerTargetsLearnsTheInitializersHeatmaps) {
  Fixture f;
  f.config.train.freeze_initializer = true;
  f.config.train.initializer_targets = 1.0;
  const auto stage = make_stage(StageKind::dkd, f.context());
  stage->prepare(1e-3);
  stage->reset_state();
  const Batch batch = random_batch(f.config, 2, 3);
  const int64_t T = 3;
  double to_teacher = 0.0, to_truth = 0.0;
  {
    // The same forward the step makes (training mode, batch statistics), before the update.
    torch::NoGradGuard no_grad;
    f.models.dkd->train();
    const auto out = f.models.dkd->forward(batch.images, {}).heatmaps.narrow(1, 1, T - 1);
    const auto later = batch.images.narrow(1, 1, T - 1);
    const auto teacher = f.models.dkd->initializer->forward(later.flatten(0, 1)).view_as(out);
    const auto w = batch.weights.narrow(1, 1, T - 1);
    to_teacher = heatmap_mse(out, teacher, w).item<double>();
    to_truth = heatmap_mse(out, batch.heatmaps.narrow(1, 1, T - 1), w).item<double>();
  }
  const LossTerms terms = stage->step(batch, 0, 0.0);
  EXPECT_NEAR(terms.at("loss_pose"), to_teacher, 1e-6 * std::max(1.0, to_teacher));
  EXPECT_GT(std::abs(to_truth - to_teacher), 1e-3 * to_truth);  // the targets really differ
}

}  // namespace
}  // namespace dkd
