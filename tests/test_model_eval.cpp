// Running models over whole videos (eval/model_eval): the streaming calls that
// own the re-initialisation rule, and eval.boxes = tracked on both data formats.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "data_fixtures.h"
#include "dkd/config/config.h"
#include "dkd/data/skeleton.h"
#include "dkd/eval/model_eval.h"
#include "dkd/eval/report.h"
#include "dkd/util/error.h"
#include "dkd/models/factory.h"

using namespace dkd;

namespace {

Config tiny_eval_config(const std::string& dataset) {
  Config c;
  c.runtime.device = "cpu";
  c.data.dataset = dataset;
  c.data.input_size = {64, 64};
  c.model.num_joints = dataset == "penn" ? 13 : 15;
  c.model.initializer = {18, 0.25, 4, 3, 16, 4, ""};
  c.model.encoder = {18, 0.25, 2, 1, 8, 4, ""};
  c.model.distillator.channels = 8;
  c.model.distillator.kernel_size = 3;
  return c;
}

VideoRecord written_video(const std::string& dataset, int frames) {
  VideoRecord v = test::make_record(dataset, dataset == "penn" ? "0001" : "walk/v1", "walk", frames, false, 96, 80, 3);
  const std::string root = test::fresh_dir("model_eval_" + dataset);
  if (dataset == "penn")
    test::write_penn_fixture(v, root);
  else
    test::write_jhmdb_fixture(v, root);
  return v;
}

}  // namespace

TEST(ModelEval, StreamingCallsEqualTheWholeVideoRunAndCountKeyframes) {
  torch::manual_seed(3);
  Config c = tiny_eval_config("penn");
  EvalModel m = EvalModel::dkd(make_dkd_model(c));
  m.eval();
  const auto frames = torch::rand({7, 3, 64, 64});
  InferConfig rules;
  rules.reinit_every = 3;
  int64_t runs = 0;
  const auto whole = m.run_video(frames, false, skeleton_for("penn"), rules, &runs);
  EXPECT_EQ(runs, 3);  // frame 0, 3 and 6
  std::vector<torch::Tensor> streamed = {m.first_frame(frames.narrow(0, 0, 1))};
  int keyframes = 0;
  for (int64_t t = 1; t < 7; ++t) {
    bool ran = false;
    streamed.push_back(m.next_frame(frames.narrow(0, t, 1), rules, &ran));
    keyframes += ran;
    EXPECT_EQ(ran, t % 3 == 0) << t;
  }
  EXPECT_EQ(keyframes, 2);
  EXPECT_TRUE(torch::allclose(torch::cat(streamed, 0), whole, 1e-5, 1e-6));
}

TEST(ModelEval, TrackedBoxesWorkOnBothFormatsAndStartFromTheGroundTruthBox) {
  for (const std::string dataset : {"penn", "jhmdb"}) {
    torch::manual_seed(5);
    Config c = tiny_eval_config(dataset);
    const VideoRecord v = written_video(dataset, 6);
    const int J = v.num_joints;
    for (const bool dkd : {true, false}) {
      EvalModel m = dkd ? EvalModel::dkd(make_dkd_model(c))
                        : EvalModel::per_frame(make_per_frame_model(c.model.encoder, J, "model.encoder"));
      m.eval();
      c.eval.boxes = dkd::BoxSource::ground_truth;
      const VideoPredictions gt_boxes = predict_video(m, v, c, torch::kCPU);
      c.eval.boxes = dkd::BoxSource::tracked;
      const VideoPredictions tracked = predict_video(m, v, c, torch::kCPU);
      ASSERT_EQ(tracked.joints.size(), static_cast<std::size_t>(6 * J)) << dataset;
      for (const auto& p : tracked.joints) EXPECT_TRUE(std::isfinite(p.x) && std::isfinite(p.y)) << dataset;
      EXPECT_EQ(tracked.initializer_runs, dkd ? 1 : 6) << dataset;
      // Frame 1 is cropped with its ground-truth box either way.
      for (int j = 0; j < J; ++j) {
        EXPECT_NEAR(tracked.joints[j].x, gt_boxes.joints[j].x, 1e-3) << dataset << " joint " << j;
        EXPECT_NEAR(tracked.joints[j].y, gt_boxes.joints[j].y, 1e-3) << dataset << " joint " << j;
      }
    }
  }
}

TEST(ModelEval, BoxOffsetMovesEveryGroundTruthBoxAndTheTrackedStart) {
  Config c = tiny_eval_config("penn");
  const VideoRecord v = written_video("penn", 4);
  c.eval.box_offset_x = 0.1;
  c.eval.box_offset_y = -0.2;
  ASSERT_TRUE(has_box_offset(c.eval));
  const std::vector<Box> moved = offset_boxes(v, c.eval);
  ASSERT_EQ(moved.size(), v.boxes.size());
  for (std::size_t t = 0; t < moved.size(); ++t) {
    const float side = std::max(v.boxes[t].width(), v.boxes[t].height());
    EXPECT_NEAR(moved[t].x1 - v.boxes[t].x1, 0.1f * side, 1e-4f);
    EXPECT_NEAR(moved[t].y2 - v.boxes[t].y2, -0.2f * side, 1e-4f);
    EXPECT_NEAR(moved[t].width(), v.boxes[t].width(), 1e-4f);
  }
  torch::manual_seed(7);
  EvalModel m = EvalModel::per_frame(make_per_frame_model(c.model.encoder, v.num_joints, "model.encoder"));
  m.eval();
  c.eval.boxes = dkd::BoxSource::tracked;
  const VideoPredictions tracked = predict_video(m, v, c, torch::kCPU);
  ASSERT_FALSE(tracked.crop_boxes.empty());
  EXPECT_NEAR(tracked.crop_boxes[0].x1, moved[0].x1, 1e-4f);
  EXPECT_NEAR(tracked.crop_boxes[0].y1, moved[0].y1, 1e-4f);
}

TEST(ModelEval, CropAnchoringIsTheShareOfTheOffsetThePredictionsFollow) {
  const VideoRecord v = written_video("penn", 3);
  EvalConfig e;
  e.box_offset_x = 0.2;
  const auto moved_by = [&](double share) {
    std::vector<Point2> p = v.joints;
    for (int t = 0; t < v.num_frames(); ++t) {
      const float side =
          std::max(v.boxes[static_cast<std::size_t>(t)].width(), v.boxes[static_cast<std::size_t>(t)].height());
      for (int j = 0; j < v.num_joints; ++j)
        p[static_cast<std::size_t>(t * v.num_joints + j)].x += static_cast<float>(share * 0.2 * side);
    }
    return p;
  };
  for (const double share : {0.0, 0.5, 1.0}) {
    double sum = 0.0;
    int64_t count = 0;
    add_crop_anchoring(v, moved_by(share), e, false, sum, count);
    ASSERT_EQ(count, 3);
    EXPECT_NEAR(sum / count, share, 1e-5) << share;
    // Tracked: the first frame (the moved box itself) does not count.
    sum = 0.0;
    count = 0;
    add_crop_anchoring(v, moved_by(share), e, true, sum, count);
    EXPECT_EQ(count, 2);
  }
  // A move across the offset is not anchoring.
  std::vector<Point2> across = v.joints;
  for (auto& p : across) p.y += 10.f;
  double sum = 0.0;
  int64_t count = 0;
  add_crop_anchoring(v, across, e, false, sum, count);
  EXPECT_NEAR(sum / count, 0.0, 1e-6);
}

TEST(ModelEval, SpeedOfManyStreamsIsPerFrameOfOneVideo) {
  torch::manual_seed(6);
  Config c = tiny_eval_config("penn");
  c.eval.speed_frames = 4;
  c.eval.warmup_frames = 1;
  EvalModel m = EvalModel::dkd(make_dkd_model(c));
  const SpeedInfo one = measure_speed(m, c, torch::kCPU);
  EXPECT_EQ(one.streams, 1);
  const SpeedInfo three = measure_speed(m, c, torch::kCPU, 3);
  EXPECT_EQ(three.streams, 3);
  for (const SpeedInfo* s : {&one, &three}) {
    EXPECT_TRUE(std::isfinite(s->ms_per_frame) && s->ms_per_frame > 0.0);
    EXPECT_TRUE(std::isfinite(s->ms_first_frame) && s->ms_first_frame > 0.0);
    EXPECT_NEAR(s->fps, 1000.0 / s->ms_per_frame, 1e-9);
  }
  EXPECT_EQ(speed_to_json(three)["streams"], 3);
  EXPECT_THROW(measure_speed(m, c, torch::kCPU, 0), Error);
}
