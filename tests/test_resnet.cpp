#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dkd/models/resnet.h"
#include "dkd/util/error.h"

namespace {

TEST(Resnet, LayoutsOfEveryDepth) {
  EXPECT_EQ(dkd::resnet_layout(18).blocks, (std::vector<int64_t>{2, 2, 2, 2}));
  EXPECT_EQ(dkd::resnet_layout(34).blocks, (std::vector<int64_t>{3, 4, 6, 3}));
  EXPECT_TRUE(dkd::resnet_layout(50).bottleneck);
  EXPECT_EQ(dkd::resnet_layout(101).blocks[2], 23);
  EXPECT_EQ(dkd::resnet_layout(152).blocks[1], 8);
  EXPECT_FALSE(dkd::resnet_layout(34).bottleneck);
  try {
    dkd::resnet_layout(20, "model.encoder.depth");
    FAIL();
  } catch (const dkd::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("model.encoder.depth = 20"), std::string::npos);
  }
}

TEST(Resnet, WidthMultiplierScalesPlanes) {
  EXPECT_EQ(dkd::resnet_planes(0, 1.0), 64);
  EXPECT_EQ(dkd::resnet_planes(3, 1.0), 512);
  EXPECT_EQ(dkd::resnet_planes(1, 0.25), 32);
  EXPECT_EQ(dkd::resnet_planes(0, 0.001), 1);
}

TEST(Resnet, StageShapesAndDownsampleOnlyWhereNeeded) {
  torch::manual_seed(0);
  int64_t channels = 16;
  auto basic = dkd::make_resnet_stage(dkd::resnet_layout(18), channels, 16, 2, 1);
  EXPECT_EQ(channels, 16);
  EXPECT_EQ(basic->named_parameters().find("0.downsample.0.weight"), nullptr);
  EXPECT_EQ(basic->forward(torch::randn({2, 16, 8, 8})).sizes(), (std::vector<int64_t>{2, 16, 8, 8}));
  auto bottleneck = dkd::make_resnet_stage(dkd::resnet_layout(50), channels, 8, 3, 2);
  EXPECT_EQ(channels, 32);
  EXPECT_NE(bottleneck->named_parameters().find("0.downsample.0.weight"), nullptr);
  EXPECT_EQ(bottleneck->named_parameters().find("1.downsample.0.weight"), nullptr);
  EXPECT_EQ(bottleneck->forward(torch::randn({2, 16, 8, 8})).sizes(), (std::vector<int64_t>{2, 32, 4, 4}));
}

}  // namespace
