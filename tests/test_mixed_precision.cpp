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
  } catch (const std::runtime_error&) {}
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
}

TEST(MixedPrecision, BFloat16StepsTrainFloatParametersLikeFloatSteps) {
  if (!bfloat16_cpu()) GTEST_SKIP() << "no oneDNN bfloat16 convolutions on this CPU";
  // The same model, batch and schedule in float and in bfloat16, with the deconvolution
  // head as ConvTranspose2d and as sub-pixel convolutions (the quickstart trains that way):
  // every loss falls, and each follows float with ConvTranspose2d within bfloat16's rounding.
  struct Run {
    bool bf16;
    const char* deconv_impl;
  };
  const Run runs[] = {{false, "transposed"}, {true, "transposed"}, {false, "subpixel"}, {true, "subpixel"}};
  std::vector<std::vector<double>> losses;
  for (const Run& run : runs) {
    SCOPED_TRACE(std::string(run.bf16 ? "bfloat16" : "float") + ", " + run.deconv_impl);
    Config config = test::tiny_config();
    config.train.initializer.precision = run.bf16 ? dkd::Precision::bfloat16 : dkd::Precision::float32;
    config.model.initializer.deconv_impl = dkd::parse_kind<dkd::DeconvImpl>(run.deconv_impl, "deconv_impl");
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
    losses.emplace_back();
    for (int step = 0; step < 8; ++step) losses.back().push_back(stage->step(b, step, step / 8.0).at("loss_pose"));
    for (const auto& p : stage->parameters()) {
      EXPECT_EQ(p.scalar_type(), torch::kFloat);
      ASSERT_TRUE(p.grad().defined());
      EXPECT_EQ(p.grad().scalar_type(), torch::kFloat);
    }
    EXPECT_FALSE(at::autocast::is_cpu_enabled());
    EXPECT_LT(losses.back().back(), 0.9 * losses.back().front());
  }
  const std::vector<double>& reference = losses[0];
  for (std::size_t r = 1; r < losses.size(); ++r) {
    const double tolerance = runs[r].bf16 ? 0.05 : 1e-3;  // float, either head: the same function
    for (std::size_t i = 0; i < reference.size(); ++i)
      EXPECT_NEAR(losses[r][i], reference[i], tolerance * reference[i])
          << (runs[r].bf16 ? "bfloat16, " : "float, ") << runs[r].deconv_impl << ", step " << i;
  }
  EXPECT_NE(losses[1].back(), losses[0].back());  // and it did run in bfloat16
}

TEST(MixedPrecision, ConfigNamesTheStageKey) {
  Config config = test::tiny_config();
  EXPECT_NO_THROW(check_training_precision("train.initializer.precision", Precision::float32, torch::kCPU));
  if (!bfloat16_cpu()) {
    try {
      check_training_precision("train.initializer.precision", Precision::bfloat16, torch::kCPU);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("train.initializer.precision"), std::string::npos) << e.what();
    }
  } else {
    EXPECT_NO_THROW(check_training_precision("train.initializer.precision", Precision::bfloat16, torch::kCPU));
  }
}

}  // namespace
}  // namespace dkd
