#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <unistd.h>

#include "dkd/models/factory.h"
#include "dkd/util/error.h"

namespace {

dkd::Config non_square_config() {
  dkd::Config c;
  c.data.input_size = {64, 96};  // [width, height]
  c.data.clip_length = 3;
  c.model.num_joints = 5;
  c.model.initializer.width = 0.0625;
  c.model.initializer.deconv_filters = 8;
  c.model.encoder.width = 0.0625;
  c.model.encoder.deconv_filters = 6;
  c.model.distillator.channels = 8;
  c.model.distillator.kernel_size = 3;
  c.model.discriminator.channels = 4;
  c.model.discriminator.embedding = 8;
  c.model.discriminator.input_size = 0;
  return c;
}

TEST(ModelFactory, BuildsEveryModuleFromConfig) {
  torch::manual_seed(0);
  const auto cfg = non_square_config();
  EXPECT_EQ(dkd::heatmap_size(cfg), (std::array<int64_t, 2>{24, 16}));
  auto dkd_model = dkd::make_dkd_model(cfg);
  auto out = dkd_model->forward(torch::randn({2, 3, 3, 96, 64}));
  EXPECT_EQ(out.heatmaps.sizes(), (std::vector<int64_t>{2, 3, 5, 24, 16}));
  EXPECT_EQ(dkd_model->distillator->kernel_size(), 3);
  EXPECT_EQ(dkd_model->encoder->out_channels(), 6);
  auto disc = dkd::make_discriminator(cfg);
  EXPECT_EQ(disc->energy(out.heatmaps.detach()).sizes(), (std::vector<int64_t>{2}));
  auto small = dkd::make_per_frame_model(cfg.model.encoder, 5, "model.encoder");
  EXPECT_EQ(small->forward(torch::randn({1, 3, 96, 64})).sizes(), (std::vector<int64_t>{1, 5, 24, 16}));
}

TEST(ModelFactory, InvalidBackboneNamesTheConfigKey) {
  auto cfg = non_square_config();
  cfg.model.encoder.stages = 3;
  try {
    dkd::make_dkd_model(cfg);
    FAIL();
  } catch (const dkd::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("model.encoder.deconv_layers"), std::string::npos);
  }
}

TEST(ModelFactory, PretrainedEncoderFromPerFrameBaselineCheckpoint) {
  torch::manual_seed(0);
  auto cfg = non_square_config();
  // A per-frame small baseline's weights (backbone under "backbone.") warm-start the encoder.
  dkd::PerFrameModel baseline(cfg.model.encoder, 5, "model.encoder");
  const auto path =
      (std::filesystem::temp_directory_path() / ("dkd_factory_" + std::to_string(::getpid()) + ".pt")).string();
  dkd::save_state_dict(*baseline, path);
  cfg.model.encoder.pretrained = path;
  torch::manual_seed(9);
  auto encoder = dkd::make_encoder(cfg.model);
  EXPECT_TRUE(encoder->backbone->named_parameters()["layer2.1.conv2.weight"].equal(
      baseline->backbone->named_parameters()["layer2.1.conv2.weight"]));
  // A file whose names match nothing is an error, not a silent no-op.
  dkd::save_state_dict(dkd::StateDict{{"something.else", torch::zeros({1})}}, path);
  EXPECT_THROW(dkd::make_encoder(cfg.model), dkd::Error);
  std::filesystem::remove(path);
}

}  // namespace
