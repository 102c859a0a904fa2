#include <gtest/gtest.h>
#include <torch/torch.h>

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
    cfg.matching = variant;
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
  cfg.matching = "full";
  EXPECT_THROW(dkd::KernelDistillator(cfg, 8, 2, 16), dkd::ConfigError);
}

}  // namespace
