// DkdStream: the keyframe rule dkd_eval and dkd_infer share.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dkd/models/dkd_stream.h"
#include "dkd/util/error.h"
#include "model_fixtures.h"

namespace {

struct Stream : ::testing::Test {
  void SetUp() override {
    torch::manual_seed(11);
    model = dkd_test::tiny_dkd_model();
    dkd_test::calibrate_batch_norm(model);
    frames = torch::rand({7, 1, 3, 32, 32});
  }
  dkd::DkdModel model{nullptr};
  torch::Tensor frames;
};

TEST_F(Stream, WithoutRulesItIsTheModelsOwnSteps) {
  torch::NoGradGuard g;
  dkd::DkdStream stream(model);
  EXPECT_FALSE(stream.started());
  EXPECT_THROW(stream.next(frames[0], {}, dkd::InferConfig{}), dkd::Error);
  auto h = stream.start(frames[0]);
  auto state = model->start(frames[0]);
  EXPECT_TRUE(torch::equal(h, state.heatmaps));
  for (int64_t t = 1; t < 7; ++t) {
    bool ran = true;
    const auto got = stream.next(frames[t], {}, dkd::InferConfig{}, &ran);
    EXPECT_FALSE(ran);
    EXPECT_TRUE(torch::allclose(got, model->step(state, frames[t]), 1e-6, 1e-7)) << "frame " << t;
    EXPECT_EQ(stream.index(), t);
  }
}

TEST_F(Stream, ReinitEveryAndConfidenceMakeKeyframes) {
  torch::NoGradGuard g;
  dkd::InferConfig every3;
  every3.reinit_every = 3;
  dkd::DkdStream stream(model);
  stream.start(frames[0]);
  std::vector<int64_t> keyframes;
  for (int64_t t = 1; t < 7; ++t) {
    bool ran = false;
    const auto h = stream.next(frames[t], {}, every3, &ran);
    if (ran) {
      keyframes.push_back(t);
      EXPECT_TRUE(torch::allclose(h, model->initializer->forward(frames[t]), 1e-6, 1e-7));
    }
  }
  EXPECT_EQ(keyframes, (std::vector<int64_t>{3, 6}));

  // A confidence no heatmap reaches: every frame falls back to the initializer.
  dkd::InferConfig unsure;
  unsure.reinit_confidence = 1e9;
  stream.start(frames[0]);
  for (int64_t t = 1; t < 4; ++t) {
    bool ran = false;
    stream.next(frames[t], {}, unsure, &ran);
    EXPECT_TRUE(ran) << "frame " << t;
  }
}

}  // namespace
