// Box drift (eval/box_drift.h): hand-computed offsets, scales and joints in crop,
// through the PCK evaluator, its counts and the per-split average.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "dkd/eval/pck.h"
#include "dkd/eval/report.h"
#include "dkd/util/error.h"
#include "pose_fixtures.h"

namespace dkd {
namespace {

using test::pose_record;

// A record of T frames whose GT box is 100 x 100 at (100, 100): its crop (scale
// 1.25, square) is 125 x 125 around (150, 150).
VideoRecord square_record(int T) {
  VideoRecord r = pose_record("penn", "0001", "bowl", T, 100.f, 100.f);
  for (auto& b : r.boxes) b = {100.f, 100.f, 200.f, 200.f};
  for (auto& p : r.joints) p = {150.f, 150.f};
  return r;
}

TEST(BoxDrift, OffsetScaleAndJointsInCropHandComputed) {
  VideoRecord r = square_record(3);
  // Frame 2 (index 1): the box moved right by 10 px (10 % of the GT size), same size.
  // Frame 3 (index 2): the box twice as large around the same centre, so its
  // crop is 250 x 250 (x in 25..275): a joint at x = 270 is inside, one at 300 not.
  r.joint(2, 0) = {270.f, 150.f};
  r.joint(2, 1) = {300.f, 150.f};
  const std::vector<Box> crops = {{100, 100, 200, 200}, {110, 100, 210, 200}, {50, 50, 250, 250}};
  PckEvaluator ev("penn");
  ev.process(r, r.joints, &crops);
  const BoxDriftResult d = ev.evaluate().box_drift;
  ASSERT_TRUE(d.measured());
  ASSERT_EQ(d.by_frame.size(), 3u);
  EXPECT_NEAR(d.by_frame[0].center_offset, 0.0, 1e-9);
  EXPECT_NEAR(d.by_frame[0].scale_ratio, 1.0, 1e-9);
  EXPECT_NEAR(d.by_frame[1].center_offset, 10.0, 1e-6);
  EXPECT_NEAR(d.by_frame[1].scale_ratio, 1.0, 1e-6);
  EXPECT_NEAR(d.by_frame[1].joints_in_crop, 100.0, 1e-9);
  EXPECT_NEAR(d.by_frame[2].center_offset, 0.0, 1e-6);
  EXPECT_NEAR(d.by_frame[2].scale_ratio, 2.0, 1e-6);
  EXPECT_NEAR(d.by_frame[2].scale_error, 100.0, 1e-4);
  EXPECT_NEAR(d.by_frame[2].joints_in_crop, 100.0 * 12 / 13, 1e-9);
  // Frames after the first: offsets 10 and 0, scales 1 and 2 (geometric mean sqrt 2).
  EXPECT_DOUBLE_EQ(d.all.frames, 2.0);
  EXPECT_NEAR(d.all.center_offset, 5.0, 1e-6);
  EXPECT_NEAR(d.all.scale_ratio, std::sqrt(2.0), 1e-6);
  EXPECT_NEAR(d.all.scale_error, 100.0 * (std::sqrt(2.0) - 1.0), 1e-4);
  // Buckets: "1" holds frame 1, "2-4" frames 2 and 3, later buckets nothing.
  ASSERT_EQ(d.labels.size(), 6u);
  EXPECT_EQ(d.labels[1], "2-4");
  EXPECT_DOUBLE_EQ(d.buckets[0].frames, 1.0);
  EXPECT_DOUBLE_EQ(d.buckets[1].frames, 2.0);
  EXPECT_DOUBLE_EQ(d.buckets[2].frames, 0.0);
  EXPECT_TRUE(std::isnan(d.buckets[2].center_offset));
}

TEST(BoxDrift, WithoutCropBoxesNothingIsMeasuredAndReportsLeaveItOut) {
  VideoRecord r = square_record(2);
  PckEvaluator ev("penn");
  ev.process(r, r.joints);
  const EvalResult res = ev.evaluate();
  EXPECT_FALSE(res.box_drift.measured());
  EXPECT_FALSE(result_to_json(res).contains("box_drift"));
  EXPECT_EQ(format_report(res, true).find("Box drift"), std::string::npos);

  PckEvaluator tracked("penn");
  const std::vector<Box> crops = {{100, 100, 200, 200}, {120, 100, 220, 200}};
  tracked.process(r, r.joints, &crops);
  const EvalResult t = tracked.evaluate();
  EXPECT_TRUE(result_to_json(t).contains("box_drift"));
  EXPECT_NEAR(result_to_json(t)["box_drift"]["all_after_first"]["center_offset_pct"].get<double>(), 20.0, 1e-6);
  EXPECT_NE(format_report(t, true).find("Box drift"), std::string::npos);
}

TEST(BoxDrift, CountsRoundTripAndWrongBoxCountIsAnError) {
  VideoRecord r = square_record(4);
  const std::vector<Box> crops = {{100, 100, 200, 200}, {105, 100, 205, 200}, {110, 95, 210, 195}, {90, 90, 230, 230}};
  PckEvaluator a("penn"), b("penn"), both("penn");
  a.process(r, r.joints, &crops);
  both.process(r, r.joints, &crops);
  r.id = "0002";
  b.process(r, r.joints, &crops);
  both.process(r, r.joints, &crops);
  a.merge(b.counts());
  const BoxDriftResult merged = a.evaluate().box_drift, direct = both.evaluate().box_drift;
  EXPECT_DOUBLE_EQ(merged.all.frames, 6.0);
  EXPECT_NEAR(merged.all.center_offset, direct.all.center_offset, 1e-9);
  EXPECT_NEAR(merged.all.scale_ratio, direct.all.scale_ratio, 1e-9);

  const std::vector<Box> short_crops(3, Box{100, 100, 200, 200});
  EXPECT_THROW(a.process(r, r.joints, &short_crops), UsageError);
}

TEST(BoxDrift, AverageOverSplitsIsTheMeanOfEachValue) {
  BoxDriftResult x, y;
  x.all = {10, 4.0, 2.0, 100.0, 90.0};
  y.all = {30, 8.0, 0.5, 50.0, 70.0};
  x.labels = y.labels = {"1"};
  x.buckets = {x.all};
  y.buckets = {y.all};
  x.by_frame = {x.all};
  y.by_frame = {y.all, y.all};
  const BoxDriftResult m = average_box_drift({&x, &y});
  EXPECT_DOUBLE_EQ(m.all.frames, 40.0);
  EXPECT_NEAR(m.all.center_offset, 6.0, 1e-12);
  EXPECT_NEAR(m.all.scale_ratio, 1.0, 1e-12);  // geometric: sqrt(2 * 0.5)
  EXPECT_NEAR(m.all.scale_error, 75.0, 1e-12);
  EXPECT_NEAR(m.all.joints_in_crop, 80.0, 1e-12);
  ASSERT_EQ(m.by_frame.size(), 2u);
  EXPECT_NEAR(m.by_frame[1].center_offset, 8.0, 1e-12);
}

}  // namespace
}  // namespace dkd
