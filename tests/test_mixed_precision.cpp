// bfloat16 mixed precision for the per-frame stages (train/mixed_precision.h):
// the guard turns autocast on and restores it, a bfloat16 step trains float
// parameters, and its loss follows the float step's.
#include "dkd/train/mixed_precision.h"

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common.h"
#include "dkd/data/loader.h"
#include "dkd/dist/process_group.h"
#include "dkd/models/model_set.h"
#include "dkd/models/packed_conv.h"
#include "dkd/train/stage.h"
#include "dkd/util/error.h"

namespace dkd {
namespace {

bool bfloat16_cpu() { return packed_bfloat16_supported(); }

TEST(MixedPrecision, GuardRunsConvolutionsInBFloat16AndRestoresTheState) {
  if (!bfloat16_cpu()) GTEST_SKIP() << "no oneDNN bfloat16 convolutions on this CPU";
  const auto x = torch::randn({1, 4, 8, 8});
  const auto w = torch::randn({4, 4, 3, 3});
  ASSERT_FALSE(at::autocast::is_cpu_enabled());
  {
    AutocastGuard off(torch::kCPU, false);
    EXPECT_FALSE(at::autocast::is_cpu_enabled());
    EXPECT_EQ(torch::conv2d(x, w).scalar_type(), torch::kFloat);
  }
  {
    AutocastGuard on(torch::kCPU, true);
    EXPECT_TRUE(at::autocast::is_cpu_enabled());
    EXPECT_EQ(at::autocast::get_autocast_cpu_dtype(), torch::kBFloat16);
    const auto y = torch::conv2d(x, w, {}, 1, 1);
    EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
    const auto ref = torch::conv2d(x, w, {}, 1, 1);
    EXPECT_TRUE(y.to(torch::kFloat).allclose(ref.to(torch::kFloat)));
  }
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  EXPECT_EQ(torch::conv2d(x, w).scalar_type(), torch::kFloat);
  // Restored when the scope ends by an exception too.
  try {
    AutocastGuard on(torch::kCPU, true);
    throw std::runtime_error("stop");
  } catch (const std::runtime_error&) {
  }
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
}

TEST(MixedPrecision, BFloat16StepsTrainFloatParametersLikeFloatSteps) {
  if (!bfloat16_cpu()) GTEST_SKIP() << "no oneDNN bfloat16 convolutions on this CPU";
  // The same model, batch and schedule in float and in bfloat16: both losses fall, and
  // they stay within bfloat16's rounding of each other.
  std::vector<double> losses[2];
  for (int bf16 = 0; bf16 < 2; ++bf16) {
    Config config = test::tiny_config();
    config.train.initializer.precision = bf16 ? "bfloat16" : "float32";
    DistContext dist;
    torch::manual_seed(0);
    ModelSet models = build_model_set(config, torch::kCPU);
    const auto stage = make_stage(StageKind::initializer, StageContext{config, models, dist, torch::kCPU});
    stage->prepare(1e-3);
    torch::manual_seed(3);
    const int64_t J = config.model.num_joints, H = config.data.input_size[1], W = config.data.input_size[0];
    Batch b;
    b.images = torch::randn({4, 1, 3, H, W});
    b.heatmaps = torch::rand({4, 1, J, H / 4, W / 4});
    b.weights = torch::ones({4, 1, J});
    for (int step = 0; step < 8; ++step) losses[bf16].push_back(stage->step(b, step, step / 8.0).at("loss_pose"));
    for (const auto& p : stage->parameters()) {
      EXPECT_EQ(p.scalar_type(), torch::kFloat);
      ASSERT_TRUE(p.grad().defined());
      EXPECT_EQ(p.grad().scalar_type(), torch::kFloat);
    }
    EXPECT_FALSE(at::autocast::is_cpu_enabled());
  }
  for (int bf16 = 0; bf16 < 2; ++bf16) {
    EXPECT_LT(losses[bf16].back(), 0.9 * losses[bf16].front()) << (bf16 ? "bfloat16" : "float");
  }
  for (std::size_t i = 0; i < losses[0].size(); ++i) {
    EXPECT_NEAR(losses[1][i], losses[0][i], 0.05 * losses[0][i]) << "step " << i;
  }
  EXPECT_NE(losses[1].back(), losses[0].back());  // and it did run in bfloat16
}

TEST(MixedPrecision, ConfigNamesTheStageKey) {
  Config config = test::tiny_config();
  EXPECT_NO_THROW(check_training_precision("train.initializer.precision", "float32", torch::kCPU));
  if (!bfloat16_cpu()) {
    try {
      check_training_precision("train.initializer.precision", "bfloat16", torch::kCPU);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("train.initializer.precision"), std::string::npos) << e.what();
    }
  } else {
    EXPECT_NO_THROW(check_training_precision("train.initializer.precision", "bfloat16", torch::kCPU));
  }
}

}  // namespace
}  // namespace dkd
