#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dkd/config/config.h"
#include "dkd/models/kernel_distillator.h"
#include "dkd/util/error.h"

namespace {

TEST(KernelDistillator, StagesStopBeforeGoingBelowKernelSize) {
  EXPECT_EQ(dkd::distillator_stages(64, 7), 3);  // 64 -> 32 -> 16 -> 8
  EXPECT_EQ(dkd::distillator_stages(16, 7), 1);
  EXPECT_EQ(dkd::distillator_stages(8, 3), 1);
  EXPECT_EQ(dkd::distillator_stages(7, 7), 0);
}

TEST(KernelDistillator, KernelShapesPerVariantAndAnyInputSize) {
  torch::manual_seed(0);
  dkd::DistillatorConfig cfg;
  cfg.channels = 16;
  cfg.kernel_size = 5;
  for (const char* variant : {"per_joint", "depthwise"}) {
    cfg.matching = dkd::parse_kind<dkd::MatchingKind>(variant, "matching");
    dkd::KernelDistillator d(cfg, 12, 4, 16);
    const int64_t g = std::string(variant) == "per_joint" ? 4 : 1;
    EXPECT_EQ(d->kernel_groups(), g);
    for (int64_t side : {16, 13, 40}) {
      auto k = d->forward(torch::randn({2, 12, side, side + 3}), torch::rand({2, 4, side, side + 3}));
      EXPECT_EQ(k.sizes(), (std::vector<int64_t>{2, g, 12, 5, 5})) << variant << " " << side;
    }
  }
}

TEST(KernelDistillator, PoolFirstGivesTheSameKernelShape) {
  torch::manual_seed(0);
  dkd::DistillatorConfig cfg;
  cfg.channels = 8;
  cfg.kernel_size = 3;
  cfg.pool_first = true;
  dkd::KernelDistillator d(cfg, 6, 2, 16);
  EXPECT_EQ(d->num_stages(), 2);
  EXPECT_EQ(d->forward(torch::randn({2, 6, 16, 16}), torch::rand({2, 2, 16, 16})).sizes(),
            (std::vector<int64_t>{2, 2, 6, 3, 3}));
}

TEST(KernelDistillator, KernelsDependOnPreviousHeatmaps) {
  torch::manual_seed(0);
  dkd::DistillatorConfig cfg;
  cfg.channels = 8;
  cfg.kernel_size = 3;
  dkd::KernelDistillator d(cfg, 6, 2, 8);
  d->eval();
  auto f = torch::randn({1, 6, 8, 8});
  auto a = d->forward(f, torch::zeros({1, 2, 8, 8}));
  auto b = d->forward(f, torch::ones({1, 2, 8, 8}));
  EXPECT_GT((a - b).abs().max().item<double>(), 1e-4);
}

TEST(KernelDistillator, InvalidConfigIsConfigError) {
  dkd::DistillatorConfig cfg;
  cfg.kernel_size = 4;
  EXPECT_THROW(dkd::KernelDistillator(cfg, 8, 2, 16), dkd::ConfigError);
  cfg.kernel_size = 3;
  cfg.channels = 0;
  EXPECT_THROW(dkd::KernelDistillator(cfg, 8, 2, 16), dkd::ConfigError);
}

TEST(KernelDistillator, JointCentredKernelIsTheFeaturePatchAroundTheJoint) {
  // A heatmap that is one hot pixel at (x, y) picks the k x k patch of F(t-1)
  // centred there; the adjust layer starts as the identity.
  torch::manual_seed(1);
  dkd::DistillatorConfig cfg;
  cfg.kernel_size = 3;
  cfg.kernels = dkd::KernelSource::joint_centred;
  dkd::KernelDistillator d(cfg, 5, 2, 12);
  EXPECT_TRUE(d->joint_centred());
  const auto features = torch::randn({2, 5, 12, 10});
  auto heatmaps = torch::zeros({2, 2, 12, 10});
  heatmaps[0][0][4][6] = 0.8f;  // joint 0 of sample 0 at x = 6, y = 4
  heatmaps[0][1][0][0] = 1.0f;  // joint 1 at the corner: the patch is zero-padded
  heatmaps[1][0][7][2] = 0.5f;
  heatmaps[1][0][7][3] = 0.5f;  // two equal peaks: the mean of both patches
  const auto k = d->forward(features, heatmaps);
  ASSERT_EQ(k.sizes(), (std::vector<int64_t>{2, 2, 5, 3, 3}));
  EXPECT_TRUE(torch::allclose(k[0][0], features[0].slice(1, 3, 6).slice(2, 5, 8), 1e-4, 1e-5));
  auto padded = torch::constant_pad_nd(features[0], {1, 1, 1, 1});
  EXPECT_TRUE(torch::allclose(k[0][1], padded.slice(1, 0, 3).slice(2, 0, 3), 1e-4, 1e-5));
  const auto mean_patch = 0.5 * (features[1].slice(1, 6, 9).slice(2, 1, 4) + features[1].slice(1, 6, 9).slice(2, 2, 5));
  EXPECT_TRUE(torch::allclose(k[1][0], mean_patch, 1e-4, 1e-5));
  // Gradients reach the features and the adjust layer.
  auto f = features.clone().requires_grad_(true);
  d->forward(f, heatmaps).sum().backward();
  EXPECT_GT(f.grad().abs().sum().item<float>(), 0.f);
  EXPECT_GT(d->named_parameters()["adjust.weight"].grad().abs().sum().item<float>(), 0.f);
  cfg.matching = dkd::MatchingKind::depthwise;
  EXPECT_THROW(dkd::KernelDistillator(cfg, 5, 2, 12), dkd::ConfigError);
}

TEST(KernelDistillator, GroupNormKeepsTheSamplesOfABatchApart) {
  // Under teacher forcing a batch mixes ground-truth and predicted heatmaps;
  // with group norm one sample's kernels do not depend on the others (batch
  // norm in training mode does).
  torch::manual_seed(2);
  dkd::DistillatorConfig cfg;
  cfg.channels = 16;
  cfg.kernel_size = 3;
  for (const char* norm : {"group", "none", "batch"}) {
    cfg.norm = dkd::parse_kind<dkd::NormKind>(norm, "norm");
    dkd::KernelDistillator d(cfg, 6, 3, 12);
    d->train();
    const auto f = torch::randn({2, 6, 12, 12});
    const auto h = torch::rand({2, 3, 12, 12});
    auto f2 = f.clone();
    f2[1] = torch::randn({6, 12, 12}) * 5;
    const bool apart = torch::allclose(d->forward(f, h)[0], d->forward(f2, h)[0], 1e-5, 1e-6);
    EXPECT_EQ(apart, std::string(norm) != "batch") << norm;
  }
  // An unknown name is refused where the config is read, naming the key.
  EXPECT_THROW(dkd::load_config_from_string("{model: {distillator: {norm: layer}}}", {}, "t"), dkd::ConfigError);
}

TEST(KernelDistillator, FoldedInferenceEqualsTheModuleByModuleForward) {
  // Eval mode with gradients off runs each conv + batch norm as one convolution;
  // batch norms with trained-looking statistics, so folding changes the weights.
  torch::manual_seed(4);
  dkd::DistillatorConfig cfg;
  cfg.channels = 16;
  cfg.kernel_size = 3;
  for (const bool pool_first : {false, true}) {
    cfg.pool_first = pool_first;
    dkd::KernelDistillator d(cfg, 12, 5, 24);
    int batch_norms = 0;
    {
      torch::NoGradGuard g;
      for (auto& m : d->modules(false)) {
        if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
          bn->running_mean.uniform_(-0.5, 0.5);
          bn->running_var.uniform_(0.5, 2.0);
          bn->weight.uniform_(0.5, 1.5);
          bn->bias.uniform_(-0.2, 0.2);
          ++batch_norms;
        }
      }
    }
    EXPECT_EQ(batch_norms, 1 + d->num_stages());
    d->eval();
    const auto features = torch::randn({2, 12, 24, 24}), heatmaps = torch::rand({2, 5, 24, 24});
    const auto reference = d->forward(features, heatmaps).detach();
    torch::NoGradGuard g;
    const auto folded = d->forward(features, heatmaps);
    ASSERT_EQ(folded.sizes(), reference.sizes());
    EXPECT_LT((folded - reference).abs().max().item<double>(), 1e-4 * (1.0 + reference.abs().max().item<double>()))
        << "pool_first " << pool_first;
  }
}

}  // namespace
