// The tracker's box network (models/box_net.h): its output, its loss, its
// accuracy measure (eval/box_accuracy.h) and the tracked boxes that follow it
// in dkd_eval (infer.box_rule: network), with weights set by hand.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "common.h"
#include "data_fixtures.h"
#include "dkd/config/config.h"
#include "dkd/eval/box_accuracy.h"
#include "dkd/eval/model_eval.h"
#include "dkd/infer/pose_tracker.h"
#include "dkd/models/box_net.h"
#include "dkd/models/checkpoint.h"
#include "dkd/models/factory.h"
#include "dkd/util/error.h"

using namespace dkd;

namespace {

/// A box network small enough for tests: 32-pixel crops, 4 channels.
BoxNetConfig small_box_net() {
  BoxNetConfig config;
  config.input_size = 32;
  config.channels = 4;
  return config;
}

/// A box network that says, whatever the crop: every cell's box edges are
/// `left`, `top`, `right`, `bottom` crop sides away from the cell (its trunk
/// gives zeros, its head only its bias), so the box is the cells' mean.
BoxNet constant_box_net(const BoxNetConfig& config, float left, float top, float right, float bottom) {
  BoxNet net(config);
  torch::NoGradGuard no_grad;
  for (auto& p : net->parameters()) p.zero_();
  for (auto& m : net->modules(false))
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      bn->running_mean.zero_();
      bn->running_var.fill_(1);
    }
  auto* head = net->named_modules()["head"]->as<torch::nn::Conv2d>();
  head->bias.copy_(torch::tensor({left, top, right, bottom, 0.f}));
  net->eval();
  return net;
}

}  // namespace

TEST(BoxNet, GivesTheWeightedBoxOfItsCellsAsEdgesAndCodes) {
  const BoxNetConfig config = small_box_net();
  torch::manual_seed(1);
  BoxNet random(config);
  random->eval();
  const BoxNetOutput out = random->forward(torch::randn({3, 3, 48, 40}));  // resampled to 32 x 32
  const int64_t cells = (32 / 8) * (32 / 8);
  EXPECT_EQ(out.cell_edges.sizes(), (std::vector<int64_t>{3, 4, cells}));
  EXPECT_EQ(out.weights.sizes(), (std::vector<int64_t>{3, cells}));
  EXPECT_TRUE(torch::allclose(out.weights.sum(-1), torch::ones({3}), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(out.edges, (out.cell_edges * out.weights.unsqueeze(1)).sum(-1), 1e-5, 1e-6));
  EXPECT_THROW(random->forward(torch::randn({3, 32, 32})), Error);

  // The grid's cells are centred at (i + 1/2) / 4: their mean is the crop's centre.
  BoxNet fixed = constant_box_net(config, 0.3f, 0.4f, 0.5f, 0.4f);
  const BoxNetOutput f = fixed->forward(torch::randn({2, 3, 32, 32}));
  EXPECT_NEAR(f.edges[0][0].item<float>(), 0.5f - 0.3f, 1e-5f);
  EXPECT_NEAR(f.edges[0][2].item<float>(), 0.5f + 0.5f, 1e-5f);
  EXPECT_NEAR(f.codes[1][0].item<float>(), 0.1f, 1e-5f);  // centre 0.6: 0.1 right of the crop's
  EXPECT_NEAR(f.codes[1][1].item<float>(), 0.0f, 1e-5f);
  EXPECT_NEAR(f.codes[1][2].item<float>(), std::log(0.8f), 1e-5f);
  EXPECT_TRUE(torch::allclose(box_codes_to_edges(f.codes), f.edges, 1e-5, 1e-6));

  // Its loss: the weighted box's L1 error plus the cells' own. Here the mean box
  // is right, and the cells (centres 1/8, 3/8, 5/8, 7/8 along each axis) are
  // 1/4 off on average; 0.1 more on every edge adds 0.1 to the first term and
  // leaves the second at 1/4 (|-0.475|, |-0.225|, |0.025|, |0.275| average 1/4).
  const auto right = f.edges.detach().clone();
  EXPECT_NEAR(box_edge_loss(f, right).item<float>(), 0.25f, 1e-5f);
  EXPECT_NEAR(box_edge_loss(f, right + 0.1).item<float>(), 0.35f, 1e-5f);

  // Multiply-adds: three stride-2 and two grid convolutions and the 1x1 head.
  const int64_t c = 4;
  EXPECT_EQ(fixed->macs(),
            16 * 16 * c * 3 * 9 + 8 * 8 * 2 * c * c * 9 + 3 * 4 * 4 * 2 * c * 2 * c * 9 + 4 * 4 * 2 * c * 5);
  BoxNetConfig bad = config;
  bad.input_size = 36;
  EXPECT_THROW(BoxNet{bad}, ConfigError);
}

TEST(BoxNet, AccuracyIsMeasuredInCropsMovedByTheValidationCycle) {
  Config c;
  c.data.input_size = {64, 64};
  c.data.box_scale = 1.25;
  c.train.box_shift = 0.2;
  c.model.box = small_box_net();
  VideoRecord v = test::make_record("penn", "0001", "walk", 9, false, 96, 80, 3);
  for (Box& b : v.boxes) b = Box{30, 20, 60, 50};  // square: the crop is 1.25 times its side
  test::write_penn_fixture(v, test::fresh_dir("box_accuracy"));
  // A network that always answers "the crop's centre, 1/1.25 of its side": right in the unmoved crop.
  BoxNet net = constant_box_net(c.model.box, 0.4f, 0.4f, 0.4f, 0.4f);
  const BoxAccuracy a = measure_box_accuracy(net, {v}, c, torch::kCPU);
  ASSERT_EQ(a.frames, 9);
  EXPECT_EQ(a.frames_by_shift[0], 1);
  EXPECT_EQ(a.frames_by_shift[1], 4);
  EXPECT_EQ(a.frames_by_shift[2], 4);
  EXPECT_NEAR(a.mean_centre_error_at(0), 0.0, 0.1);
  // Half the shift along one axis: 0.1 crop sides = 12.5% of the box; all of it on both axes.
  EXPECT_NEAR(a.mean_centre_error_at(1), 12.5, 0.1);
  EXPECT_NEAR(a.mean_centre_error_at(2), 25.0 * std::sqrt(2.0), 0.1);
  EXPECT_NEAR(a.mean_size_error(), 0.0, 1e-3);
  EXPECT_NEAR(a.accuracy(), 100.0 / 9, 1e-6);  // only the unmoved crop is a hit
}

TEST(BoxNet, TrackedBoxesFollowTheBoxNetworkWithTheNetworkRule) {
  Config c;
  c.runtime.device = "cpu";
  c.data.input_size = {64, 64};
  c.model.initializer = {18, 0.25, 4, 3, 16, 4, ""};
  c.model.box = small_box_net();
  c.eval.boxes = BoxSource::tracked;
  c.infer.box_rule = BoxRuleKind::network;
  c.infer.box_network_smoothing = 0.0;
  c.infer.box_max_size_change = 1.0;
  c.infer.box_calibrate = false;
  c.infer.box_network_flip = false;  // the constant answer below is not mirror-symmetric
  VideoRecord v = test::make_record("penn", "0001", "walk", 4, false, 200, 160, 3);
  for (Box& b : v.boxes) b = Box{60, 40, 100, 80};
  test::write_penn_fixture(v, test::fresh_dir("box_net_tracked"));
  torch::manual_seed(3);
  EvalModel m = EvalModel::per_frame(make_per_frame_model(c.model.initializer, v.num_joints, "model.initializer"));
  m.eval();
  EXPECT_THROW(predict_video(m, v, c, torch::kCPU), Error);  // the rule needs a box network
  // "The person is 0.05 crop sides right of the crop's centre, 0.8 crop sides tall and wide":
  // each crop moves right by 5% of its side, its box keeps its size.
  m.set_box_net(constant_box_net(c.model.box, 0.35f, 0.4f, 0.45f, 0.4f));
  const VideoPredictions p = predict_video(m, v, c, torch::kCPU);
  ASSERT_EQ(p.crop_boxes.size(), 4u);
  const float crop_side = 40 * 1.25f;
  for (std::size_t t = 1; t < 4; ++t) {
    EXPECT_NEAR(p.crop_boxes[t].x1 - p.crop_boxes[t - 1].x1, 0.05f * crop_side, 1e-2f) << t;
    EXPECT_NEAR(p.crop_boxes[t].y1, p.crop_boxes[0].y1, 1e-2f) << t;
    EXPECT_NEAR(p.crop_boxes[t].width(), 40.f, 1e-2f) << t;
  }
  // Refined (infer.box_network_refine 1): each frame is cropped again where the network
  // says in its first crop, so each crop moves twice as far, 10% of its side.
  c.infer.box_network_refine = 1.0;
  const VideoPredictions refined = predict_video(m, v, c, torch::kCPU);
  for (std::size_t t = 1; t < 4; ++t)
    EXPECT_NEAR(refined.crop_boxes[t].x1 - refined.crop_boxes[t - 1].x1, 0.1f * crop_side, 1e-2f) << t;
  c.infer.box_network_refine = 0.0;
  // Calibrated on the first frame's box, the same constant answer is this person's own
  // offset, not a motion: the box stays where the first one was.
  c.infer.box_calibrate = true;
  const VideoPredictions calibrated = predict_video(m, v, c, torch::kCPU);
  for (std::size_t t = 1; t < 4; ++t) EXPECT_NEAR(calibrated.crop_boxes[t].x1, v.boxes[0].x1, 1e-2f) << t;
}

TEST(BoxNet, WithTheMirroredCropItsAnswerMirrorsWithTheCrop) {
  const BoxNetConfig config = small_box_net();
  torch::manual_seed(5);
  BoxNet net(config);
  for (auto& m : net->modules(false))
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {  // statistics that folding must carry
      bn->running_mean.uniform_(-0.5, 0.5);
      bn->running_var.uniform_(0.5, 2.0);
    }
  net->eval();
  const auto crops = torch::randn({2, 3, 32, 32});
  // With gradients on, the trunk runs conv, batch norm, ReLU; without, folded: the same codes.
  const auto unfolded = net->forward(crops).codes.detach();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(net->forward(crops).codes, unfolded, 1e-4, 1e-5));
  const auto mirror = torch::tensor({-1.f, 1.f, 1.f, 1.f});
  // One pass: a random network's answer does not mirror with the crop.
  const auto plain = net->find(crops, false);
  EXPECT_TRUE(torch::allclose(plain, net->forward(crops).codes));
  EXPECT_FALSE(torch::allclose(net->find(crops.flip({3}), false), plain * mirror, 1e-3, 1e-3));
  // With the mirrored crop it does, and it is the mean of the two passes.
  const auto both = net->find(crops, true);
  EXPECT_TRUE(torch::allclose(net->find(crops.flip({3}), true), both * mirror, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(both, 0.5 * (plain + net->find(crops.flip({3}), false) * mirror), 1e-5, 1e-5));
}

TEST(BoxNet, PoseTrackerFollowsTheBoxNetworkWithTheNetworkRule) {
  Config config = test::tiny_config();
  config.infer.box_rule = BoxRuleKind::network;
  config.infer.box_network_smoothing = 0.0;
  config.infer.box_max_size_change = 1.0;
  config.infer.box_calibrate = false;
  config.infer.box_network_flip = false;  // the constant answer below is not mirror-symmetric
  config.model.box = small_box_net();
  torch::manual_seed(2);
  PoseTracker tracker(config, make_dkd_model(config));  // with an untrained box network
  const cv::Mat frame(240, 320, CV_8UC3, cv::Scalar(90, 100, 110));
  const Box first{120, 60, 200, 180};
  // "The person is 0.1 crop sides left of the crop's centre, as tall and wide as 0.8 of it".
  tracker.set_box_net(constant_box_net(config.model.box, 0.5f, 0.4f, 0.3f, 0.4f));
  const TrackResult r0 = tracker.start(frame, first);
  const int w = config.data.input_size.at(0), h = config.data.input_size.at(1);
  const Region crop = box_region(first, config.data.box_scale, static_cast<double>(w) / h);
  EXPECT_NEAR(0.5f * (r0.next_box.x1 + r0.next_box.x2), crop.center.x - 0.1 * crop.width, 0.05);
  EXPECT_NEAR(0.5f * (r0.next_box.y1 + r0.next_box.y2), crop.center.y, 0.05);
  EXPECT_NEAR(r0.next_box.width(), 0.8 * crop.width, 0.05);
  const TrackResult r1 = tracker.track(frame);
  EXPECT_NEAR(0.5f * (r1.box.x1 + r1.box.x2), 0.5f * (r0.next_box.x1 + r0.next_box.x2), 1e-3);
  EXPECT_LT(r1.next_box.x1, r1.box.x1);  // and on to the left

  // From a checkpoint: its box network, or an error that names the file and the way out.
  const std::string dir = test::fresh_dir("box_net_checkpoint");
  const std::string without = dir + "/without_box.pt";
  DkdModel model = make_dkd_model(config);
  save_checkpoint(without, CheckpointMeta{}, model->parts(), {});
  const std::string e = test::error_of([&] { PoseTracker t(config, without); });
  EXPECT_NE(e.find(without), std::string::npos) << e;
  EXPECT_NE(e.find("infer.box_rule=steady"), std::string::npos) << e;
  auto parts = model->parts();
  BoxNet trained = constant_box_net(config.model.box, 0.5f, 0.4f, 0.3f, 0.4f);
  parts["box"] = trained.ptr().get();
  const std::string with = dir + "/with_box.pt";
  save_checkpoint(with, CheckpointMeta{}, parts, {});
  PoseTracker from_checkpoint(config, with);
  const TrackResult c0 = from_checkpoint.start(frame, first);
  EXPECT_NEAR(c0.next_box.x1, r0.next_box.x1, 1e-3);
  EXPECT_NEAR(c0.next_box.x2, r0.next_box.x2, 1e-3);
}
