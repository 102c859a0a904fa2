// BlazePose as a per-frame model of the project (model.initializer.network:
// blazepose_*; models/blazepose.h BlazePoseHeatmaps): heatmaps on the crop's
// grid from the project's normalised crops, square or not; DKD's initializer;
// fine-tunable through the rendered heatmaps; config errors; dkd_eval without a
// checkpoint on a pseudo-labelled real-photograph data set.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common.h"
#include "real_images.h"
#include "dkd/config/config.h"
#include "dkd/data/heatmap.h"
#include "dkd/data/transforms.h"
#include "dkd/infer/pseudo_label.h"
#include "dkd/models/factory.h"
#include "dkd/train/preflight.h"
#include "dkd/util/error.h"
#include "tool_runner.h"

namespace fs = std::filesystem;

namespace {

using dkd::test::messi;

// The footballer in a region of `width` x 420 image pixels around his centre,
// as the project's normalised crop of out_w x 256.
std::pair<torch::Tensor, dkd::CropTransform> player_crop(double width, int out_w) {
  const auto crop = dkd::CropTransform::make({259.5, 189.5}, width, 420, 0, false, out_w, 256);
  return {dkd::image_to_tensor(dkd::warp_image(messi(), crop)).unsqueeze(0), crop};
}

dkd::PerFrameModel blazepose_model(dkd::LandmarkHeatmapKind source) {
  dkd::BackboneConfig cfg;
  cfg.network = dkd::NetworkKind::blazepose_lite;
  cfg.landmark_heatmaps = source;
  return dkd::make_per_frame_model(cfg, 13, "model.initializer", dkd::dataset_spec("penn").skeleton.joint_names, 2.0);
}

// Decoded joints of heatmaps [1, 13, h, w] mapped back to image pixels.
std::vector<dkd::Point2> joints_in_image(const torch::Tensor& heatmaps, const dkd::CropTransform& crop) {
  const auto peaks = dkd::decode_heatmaps(heatmaps, dkd::HeatmapDecoder::dark, 2.0);
  const auto hm = crop.downscaled(4);
  std::vector<dkd::Point2> out;
  for (int j = 0; j < 13; ++j)
    out.push_back(hm.apply_inverse({peaks.coords[0][j][0].item<float>(), peaks.coords[0][j][1].item<float>()}));
  return out;
}

}  // namespace

TEST(BlazePoseInitializer, RenderedHeatmapsPeakAtTheLandmarksWithTheirVisibility) {
  torch::NoGradGuard no_grad;
  auto [input, crop] = player_crop(420, 256);
  auto model = blazepose_model(dkd::LandmarkHeatmapKind::rendered);
  model->eval();
  const auto heatmaps = model->forward(input);
  ASSERT_EQ(heatmaps.sizes(), (std::vector<int64_t>{1, 13, 64, 64}));
  // The same crop straight into BlazePose (RGB in [0, 1]): the landmarks the heatmaps must show.
  const auto rgb = input * torch::tensor({0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1}) +
                   torch::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1});
  const auto raw = model->blazepose->blazepose->forward(rgb);
  const auto peaks = dkd::decode_heatmaps(heatmaps, dkd::HeatmapDecoder::dark, 2.0);
  const std::vector<std::pair<int, int>> single{{1, 11}, {2, 12}, {5, 15}, {7, 23}, {8, 24}, {11, 27}, {12, 28}};
  for (const auto& [joint, landmark] : single) {
    const double x = raw.landmarks[0][landmark][0].item<double>() / 4 - 0.5;
    const double y = raw.landmarks[0][landmark][1].item<double>() / 4 - 0.5;
    EXPECT_NEAR(peaks.coords[0][joint][0].item<double>(), x, 0.05) << "joint " << joint;
    EXPECT_NEAR(peaks.coords[0][joint][1].item<double>(), y, 0.05) << "joint " << joint;
    // The peak is the visibility; the grid's maximum is within half a pixel of it
    // (sigma 2: at least exp(-0.5^2 * 2 / 8) = 0.94 of it).
    const double visibility = torch::sigmoid(raw.landmarks[0][landmark][3]).item<double>();
    EXPECT_LE(peaks.maxvals[0][joint].item<double>(), visibility + 1e-4) << "joint " << joint;
    EXPECT_GE(peaks.maxvals[0][joint].item<double>(), 0.93 * visibility) << "joint " << joint;
  }
  // Head = mean of nose and ears.
  const double head_x = (raw.landmarks[0][0][0] + raw.landmarks[0][7][0] + raw.landmarks[0][8][0]).item<double>() / 3;
  EXPECT_NEAR(peaks.coords[0][0][0].item<double>(), head_x / 4 - 0.5, 0.05);

  // BlazePose's own heatmaps agree with its landmarks on the shoulders and hips (within 1.5 heatmap pixels).
  auto network = blazepose_model(dkd::LandmarkHeatmapKind::network);
  network->eval();
  const auto own = dkd::decode_heatmaps(network->forward(input), dkd::HeatmapDecoder::dark, 2.0);
  for (int joint : {1, 2, 7, 8}) {
    EXPECT_NEAR(own.coords[0][joint][0].item<double>(), peaks.coords[0][joint][0].item<double>(), 1.5) << joint;
    EXPECT_NEAR(own.coords[0][joint][1].item<double>(), peaks.coords[0][joint][1].item<double>(), 1.5) << joint;
    EXPECT_GT(own.maxvals[0][joint].item<double>(), 0.3);
  }
}

TEST(BlazePoseInitializer, ANarrowCropGivesTheSameJointsInTheImage) {
  // A 192x256 crop of a 315x420 region (black bars pad it to BlazePose's square):
  // the joints land where the square crop puts them.
  torch::NoGradGuard no_grad;
  auto model = blazepose_model(dkd::LandmarkHeatmapKind::rendered);
  model->eval();
  auto [square, square_crop] = player_crop(420, 256);
  auto [narrow, narrow_crop] = player_crop(315, 192);
  const auto hm = model->forward(narrow);
  ASSERT_EQ(hm.sizes(), (std::vector<int64_t>{1, 13, 64, 48}));
  const auto a = joints_in_image(model->forward(square), square_crop);
  const auto b = joints_in_image(hm, narrow_crop);
  // Head, shoulders and hips (lite's knees move by ~12 px between two such crops;
  // a wrong padding offset would move everything by the 52-pixel bar).
  for (int j : {0, 1, 2, 7, 8}) {
    EXPECT_NEAR(a[j].x, b[j].x, 8.0) << "joint " << j;
    EXPECT_NEAR(a[j].y, b[j].y, 8.0) << "joint " << j;
  }
}

TEST(BlazePoseInitializer, IsDkdsInitializerAndFineTunesThroughRenderedHeatmaps) {
  dkd::Config c = dkd::test::tiny_config();
  c.data.input_size = {128, 128};
  c.model.initializer.network = dkd::NetworkKind::blazepose_lite;
  dkd::validate_config(c);
  auto model = dkd::make_dkd_model(c);
  ASSERT_TRUE(model->initializer->is_blazepose());
  auto [input, crop] = player_crop(420, 256);
  const auto small = torch::nn::functional::interpolate(input, torch::nn::functional::InterpolateFuncOptions()
                                                                   .size(std::vector<int64_t>{128, 128})
                                                                   .mode(torch::kBilinear)
                                                                   .align_corners(false));
  // A clip of 3 copies: frame 1's heatmaps are BlazePose's.
  const auto clip = small.unsqueeze(1).expand({1, 3, 3, 128, 128}).contiguous();
  model->eval();
  {
    torch::NoGradGuard no_grad;
    const auto out = model->forward(clip);
    EXPECT_EQ(out.heatmaps.sizes(), (std::vector<int64_t>{1, 3, 13, 32, 32}));
    EXPECT_TRUE(torch::allclose(out.heatmaps.select(1, 0), model->initializer->forward(small), 1e-4, 1e-5));
    EXPECT_GT(out.heatmaps.select(1, 0).amax({2, 3}).mean().item<double>(), 0.5);
  }
  // Fine-tuning: a heatmap loss reaches BlazePose's first convolution through the rendering.
  model->train();
  model->initializer->zero_grad();
  model->initializer->forward(small).pow(2).sum().backward();
  const auto first = model->initializer->blazepose->blazepose->network->named_parameters()["conv0.weight"];
  ASSERT_TRUE(first.grad().defined());
  EXPECT_GT(first.grad().abs().sum().item<double>(), 0.0);
}

TEST(BlazePoseInitializer, ConfigErrorsNameTheKey) {
  auto c = dkd::load_config_from_string("{}", {"model.initializer.network=blazepose_full"});
  EXPECT_EQ(c.model.initializer.network, dkd::NetworkKind::blazepose_full);
  EXPECT_EQ(c.model.initializer.landmark_heatmaps, dkd::LandmarkHeatmapKind::rendered);
  EXPECT_NE(dkd::test::error_of<dkd::ConfigError>([] {
              dkd::load_config_from_string("{}", {"model.encoder.network=blazepose_lite"});
            }).find("model.encoder.network"),
            std::string::npos);
  EXPECT_NE(dkd::test::error_of<dkd::ConfigError>([] {
              dkd::load_config_from_string(
                  "{}", {"model.initializer.network=blazepose_lite", "model.initializer.pretrained=x.pt"});
            }).find("model.initializer.pretrained"),
            std::string::npos);
  EXPECT_NE(dkd::test::error_of<dkd::ConfigError>([] {
              dkd::load_config_from_string("{}", {"model.initializer.network=blazepose_huge"});
            }).find("model.initializer.network"),
            std::string::npos);
  // A DKD stage with it needs no trained initializer; with a ResNet one it does.
  auto dkd_only = dkd::load_config_from_string(
      "{}", {"model.initializer.network=blazepose_lite", "train.stages=[dkd]", "train.encoder_from_baseline=false"});
  EXPECT_NO_THROW(dkd::check_training_inputs(dkd_only, {}, std::nullopt));
  dkd_only.model.initializer.network = dkd::NetworkKind::resnet;
  EXPECT_THROW(dkd::check_training_inputs(dkd_only, {}, std::nullopt), dkd::ConfigError);
  // The model section alone does not know the data set's joints.
  EXPECT_THROW(dkd::make_initializer(c.model), dkd::ConfigError);
}

TEST(BlazePoseInitializer, DkdEvalScoresItWithoutACheckpointOnPseudoLabels) {
  // Pseudo-labels of the footballer panned across a canvas (lite), then dkd_eval
  // of lite on them in ground-truth-box crops: the same network in other crops
  // agrees with itself closely.
  const std::string dir = dkd::test::per_test_dir("blazepose_eval");
  dkd::PseudoLabelOptions o;
  o.teacher = "blazepose_lite";
  o.input = dkd::test::write_panned_messi(dir, 8);
  o.out = dir + "/set";
  o.boxes = {dkd::Box{130, 69, 430, 369}};
  o.min_frames = 2;
  o.test_from = 4;
  o.progress = false;
  ASSERT_EQ(dkd::pseudo_label(o).videos.size(), 2u);
  const auto r = dkd::test::run_tool_command(
      "dkd_eval",
      "--config configs/penn.yaml --model initializer --no-speed --set model.initializer.network=blazepose_lite"
      " --set data.root=" +
          o.out + " --json " + dir + "/eval.json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("blazepose_lite (imported"), std::string::npos) << r.output;
  std::ifstream in(dir + "/eval.json");
  const auto pck = nlohmann::json::parse(in)["pck"]["mean_joints"].get<double>();
  EXPECT_GT(pck, 85.0);
  // Without the imported network a checkpoint is still required.
  const auto none = dkd::test::run_tool_command(
      "dkd_eval", "--config configs/penn.yaml --model initializer --set data.root=" + o.out);
  EXPECT_EQ(none.exit_code, 2) << none.output;
}
