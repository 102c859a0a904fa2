#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dkd/models/per_frame_model.h"
#include "dkd/util/error.h"

namespace {

TEST(PerFrameModel, HeatmapsAtQuarterResolutionForLargeAndSmallConfigs) {
  torch::manual_seed(0);
  for (int depth : {18, 50}) {
    dkd::BackboneConfig c;
    c.depth = depth;
    c.width = 0.125;
    c.deconv_filters = 8;
    dkd::PerFrameModel model(c, 13);
    auto h = model->forward(torch::randn({2, 3, 64, 96}));
    EXPECT_EQ(h.sizes(), (std::vector<int64_t>{2, 13, 16, 24}));
    EXPECT_NE(model->named_parameters().find("final_layer.weight"), nullptr);
    EXPECT_NE(model->named_parameters().find("backbone.layer1.0.conv1.weight"), nullptr);
  }
}

TEST(PerFrameModel, InitialHeatmapsAreSmallAndTrainable) {
  torch::manual_seed(1);
  dkd::BackboneConfig c;
  c.width = 0.125;
  c.deconv_filters = 8;
  dkd::PoseInitializer model(c, 5);
  auto x = torch::randn({2, 3, 64, 64});
  auto h = model->forward(x);
  EXPECT_LT(h.abs().max().item<double>(), 0.1);
  h.pow(2).sum().backward();
  EXPECT_GT(model->backbone->named_parameters()["conv1.weight"].grad().abs().sum().item<double>(), 0.0);
  EXPECT_THROW(dkd::PerFrameModel(c, 0), dkd::ConfigError);
}

}  // namespace
