#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dkd/models/backbone.h"
#include "dkd/util/error.h"

namespace {

dkd::BackboneConfig small(int depth, int stages = 4, int deconv = 3, int kernel = 4) {
  dkd::BackboneConfig c;
  c.depth = depth;
  c.width = 0.125;
  c.stages = stages;
  c.deconv_layers = deconv;
  c.deconv_filters = 16;
  c.deconv_kernel = kernel;
  return c;
}

TEST(Backbone, HeatmapStrideFourForEveryDepthAndKernel) {
  torch::manual_seed(0);
  for (int depth : {18, 34, 50}) {
    for (int kernel : {2, 3, 4}) {
      dkd::Backbone b(small(depth, 4, 3, kernel));
      auto y = b->forward(torch::randn({2, 3, 64, 64}));
      EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 16, 16, 16})) << depth << " k" << kernel;
      EXPECT_EQ(b->out_channels(), 16);
      EXPECT_EQ(b->trunk_channels(), depth >= 50 ? 256 : 64);
    }
  }
}

TEST(Backbone, StemKernelKeepsTheStrideAndChangesOnlyTheStem) {
  torch::manual_seed(0);
  auto config = small(18, 2, 1);
  const auto x = torch::randn({1, 3, 64, 48});
  int64_t params7 = 0;
  for (int k : {7, 5, 3}) {
    config.stem_kernel = k;
    dkd::Backbone b(config);
    auto params = b->named_parameters();
    ASSERT_TRUE(params.contains("conv1.weight"));
    EXPECT_EQ(params["conv1.weight"].sizes(), (std::vector<int64_t>{8, 3, k, k})) << k;
    // Padding k / 2 keeps stride 2: the same feature map size whatever the stem.
    EXPECT_EQ(b->forward(x).sizes(), (std::vector<int64_t>{1, 16, 16, 12})) << k;
    int64_t count = 0;
    for (const auto& p : b->parameters()) count += p.numel();
    if (k == 7) params7 = count;
    EXPECT_EQ(params7 - count, 8 * 3 * (49 - k * k)) << k;  // only the stem changes
  }
}

TEST(Backbone, FewerStagesAndTrunkOnly) {
  torch::manual_seed(0);
  dkd::Backbone two(small(18, 2, 1));
  EXPECT_EQ(two->forward(torch::randn({1, 3, 64, 48})).sizes(), (std::vector<int64_t>{1, 16, 16, 12}));
  // One stage, no deconvolution: trunk features at stride 4 with trunk channels.
  dkd::Backbone one(small(50, 1, 0));
  EXPECT_EQ(one->out_channels(), 32);
  EXPECT_EQ(one->forward(torch::randn({1, 3, 64, 64})).sizes(), (std::vector<int64_t>{1, 32, 16, 16}));
}

TEST(Backbone, WrongDeconvCountIsConfigErrorNamingKey) {
  try {
    dkd::Backbone b(small(18, 4, 2), "model.encoder");
    FAIL() << "expected ConfigError";
  } catch (const dkd::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("model.encoder.deconv_layers"), std::string::npos);
  }
  auto bad = small(18);
  bad.depth = 20;
  EXPECT_THROW(dkd::Backbone(bad, "model.initializer"), dkd::ConfigError);
}

TEST(Backbone, TorchvisionParameterNames) {
  dkd::BackboneConfig c;
  c.depth = 50;
  c.width = 0.0625;
  c.deconv_layers = 0;
  dkd::Backbone b(c, "resnet", 10);
  auto params = b->named_parameters();
  for (const char* name :
       {"conv1.weight", "bn1.weight", "layer1.0.conv1.weight", "layer1.0.downsample.0.weight",
        "layer1.0.downsample.1.bias", "layer4.2.conv3.weight", "layer4.2.bn3.weight", "fc.weight", "fc.bias"}) {
    EXPECT_NE(params.find(name), nullptr) << name;
  }
  EXPECT_NE(b->named_buffers().find("layer2.1.bn2.running_var"), nullptr);
  EXPECT_EQ(b->forward(torch::randn({2, 3, 64, 64})).sizes(), (std::vector<int64_t>{2, 10}));

  dkd::Backbone pose(small(18));
  auto pose_params = pose->named_parameters();
  for (const char* name :
       {"deconv_layers.0.weight", "deconv_layers.1.weight", "deconv_layers.3.weight", "deconv_layers.7.bias"}) {
    EXPECT_NE(pose_params.find(name), nullptr) << name;
  }
}

}  // namespace
