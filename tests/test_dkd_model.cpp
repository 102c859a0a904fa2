#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dkd/models/dkd_model.h"
#include "model_fixtures.h"

namespace {

using dkd_test::calibrate_batch_norm;

dkd::DkdModel tiny_model(const char* matching, int64_t joints = 3) {
  return dkd_test::tiny_dkd_model(matching, joints);
}

TEST(DkdModel, ClipShapesForBothVariants) {
  torch::manual_seed(0);
  for (const char* variant : {"per_joint", "depthwise"}) {
    auto model = tiny_model(variant);
    auto out = model->forward(torch::randn({2, 4, 3, 32, 32}));
    EXPECT_EQ(out.heatmaps.sizes(), (std::vector<int64_t>{2, 4, 3, 8, 8})) << variant;
    EXPECT_EQ(out.features.sizes(), (std::vector<int64_t>{2, 4, 6, 8, 8})) << variant;
  }
}

TEST(DkdModel, GradientsReachEncoderAndDistillatorThroughMatching) {
  torch::manual_seed(1);
  auto model = tiny_model("per_joint");
  model->set_initializer_frozen(true);
  model->train();
  EXPECT_FALSE(model->initializer->is_training());
  auto out = model->forward(torch::randn({2, 3, 3, 32, 32}));
  // Loss on frames t >= 1 only, as in training: its gradient flows only
  // through matching into the distillator and the encoder.
  out.heatmaps.slice(1, 1).pow(2).sum().backward();
  auto grad_sum = [](torch::nn::Module& m) {
    double s = 0.0;
    for (auto& p : m.parameters()) {
      if (p.grad().defined()) s += p.grad().abs().sum().item<double>();
    }
    return s;
  };
  // The encoder's first layer: the gradient went through the whole backbone.
  EXPECT_GT(model->encoder->backbone->named_parameters()["conv1.weight"].grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(grad_sum(*model->encoder), 0.0);
  EXPECT_GT(grad_sum(*model->distillator), 0.0);
  EXPECT_GT(grad_sum(*model->matching), 0.0);
  EXPECT_EQ(grad_sum(*model->initializer), 0.0);
  for (auto& p : model->initializer->parameters()) EXPECT_FALSE(p.requires_grad());
}

TEST(DkdModel, StreamingStepsEqualClipForward) {
  torch::manual_seed(2);
  auto model = tiny_model("per_joint");
  calibrate_batch_norm(model);
  torch::NoGradGuard g;
  auto clip = torch::randn({2, 4, 3, 32, 32});
  auto full = model->forward(clip).heatmaps;
  auto state = model->start(clip.select(1, 0));
  EXPECT_TRUE(torch::allclose(state.heatmaps, full.select(1, 0), 1e-5, 1e-6));
  for (int64_t t = 1; t < 4; ++t) {
    auto h = model->step(state, clip.select(1, t));
    EXPECT_TRUE(torch::allclose(h, full.select(1, t), 1e-4, 1e-6)) << "frame " << t;
    EXPECT_TRUE(state.heatmaps.equal(h));
  }
}

TEST(DkdModel, TeacherForcingFeedsGroundTruth) {
  torch::manual_seed(3);
  auto model = tiny_model("per_joint");
  calibrate_batch_norm(model);
  torch::NoGradGuard g;
  auto clip = torch::randn({2, 3, 3, 32, 32});
  auto gt = torch::rand({2, 3, 3, 8, 8});
  dkd::DkdForwardOptions opts;
  opts.gt_heatmaps = gt;
  opts.teacher_mask = torch::tensor({{true, false, false}, {false, false, false}});
  auto forced = model->forward(clip, opts).heatmaps;
  auto free = model->forward(clip).heatmaps;
  // Sample 0, frame 1 was predicted from gt(0): the same as a streaming step from gt.
  dkd::DkdState state{model->encoder->forward(clip.select(1, 0)), gt.select(1, 0), torch::Tensor()};
  auto expected = model->step(state, clip.select(1, 1));
  EXPECT_TRUE(torch::allclose(forced[0][1], expected[0], 1e-4, 1e-6));
  EXPECT_FALSE(torch::allclose(forced[0][1], free[0][1], 1e-4, 1e-6));
  // Sample 1 was never forced.
  EXPECT_TRUE(torch::allclose(forced[1], free[1], 1e-5, 1e-6));
  // A mask that forces every step of sample 0 gives the same frame 1.
  opts.teacher_mask = torch::tensor({{true, true, true}, {false, false, false}});
  auto all = model->forward(clip, opts).heatmaps;
  EXPECT_TRUE(torch::allclose(all[0][1], forced[0][1], 1e-5, 1e-6));
}

}  // namespace
