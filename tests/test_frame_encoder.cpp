#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dkd/models/frame_encoder.h"
#include "dkd/util/error.h"

namespace {

TEST(FrameEncoder, FeatureChannelsFromDeconvOrTrunk) {
  torch::manual_seed(0);
  dkd::BackboneConfig c;
  c.width = 0.125;
  c.deconv_filters = 24;
  dkd::FrameEncoder encoder(c);
  EXPECT_EQ(encoder->out_channels(), 24);
  EXPECT_EQ(encoder->forward(torch::randn({3, 3, 64, 64})).sizes(), (std::vector<int64_t>{3, 24, 16, 16}));
  // One stage without deconvolutions: trunk features at stride 4.
  c.stages = 1;
  c.deconv_layers = 0;
  dkd::FrameEncoder trunk(c);
  EXPECT_EQ(trunk->out_channels(), 8);
  EXPECT_EQ(trunk->forward(torch::randn({1, 3, 32, 32})).sizes(), (std::vector<int64_t>{1, 8, 8, 8}));
}

TEST(FrameEncoder, StrideCheckNamesEncoderKey) {
  dkd::BackboneConfig c;
  c.stages = 3;
  c.deconv_layers = 3;
  try {
    dkd::FrameEncoder e(c);
    FAIL();
  } catch (const dkd::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("model.encoder.deconv_layers"), std::string::npos);
  }
}

}  // namespace
