// BoxTracker (data/box_tracker.h): the box rules dkd_infer and dkd_eval's
// tracked boxes share, on hand-made keypoints.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "dkd/data/box_tracker.h"
#include "dkd/data/transforms.h"

namespace dkd {
namespace {

const cv::Size kImage(640, 480);

// A standing figure of 5 joints: head, two hands, two feet, centred on (cx, cy),
// 40 px wide and 100 px tall, scaled by `s`.
std::vector<Point2> figure(float cx, float cy, float s = 1.f) {
  return {
      {cx, cy - 50 * s}, {cx - 20 * s, cy}, {cx + 20 * s, cy}, {cx - 10 * s, cy + 50 * s}, {cx + 10 * s, cy + 50 * s}};
}
const std::vector<float> kSure(5, 0.9f);

InferConfig steady_rule() {
  InferConfig c;
  c.box_rule = BoxRuleKind::steady;
  c.box_scale = 1.6;  // calibrated margins within 1.6 / 1.5 .. 1.6 * 1.5
  c.box_min_confidence = 0.3;
  c.box_smoothing = 0.0;
  c.box_center_smoothing = 0.0;
  c.box_max_size_change = 0.05;
  c.box_velocity = 0.0;
  c.box_calibrate = true;
  return c;
}

void expect_box_near(const Box& a, const Box& b, float tol) {
  EXPECT_NEAR(a.x1, b.x1, tol);
  EXPECT_NEAR(a.y1, b.y1, tol);
  EXPECT_NEAR(a.x2, b.x2, tol);
  EXPECT_NEAR(a.y2, b.y2, tol);
}

TEST(BoxTracker, ExtentRuleIsTheKeypointExtentRule) {
  InferConfig c;
  c.box_rule = BoxRuleKind::extent;
  c.box_min_confidence = 0.1;
  c.box_scale = 1.5;
  c.box_smoothing = 0.5;
  BoxTracker boxes(c);
  const Box first{280, 180, 360, 320};
  boxes.start(first, kImage);
  EXPECT_EQ(boxes.box().x1, first.x1);
  const auto kps = figure(330, 250);
  boxes.update(kps, kSure);
  expect_box_near(boxes.box(), next_box_from_keypoints(kps, kSure, first, 0.1, 1.5, 0.5, kImage), 1e-4f);
}

TEST(BoxTracker, SteadyKeepsTheFirstBoxsMarginAndCentre) {
  // The first box is 2x the figure's extent (80 x 200) and 10 px above its centre:
  // a figure that stands still keeps exactly that box.
  BoxTracker boxes(steady_rule());
  const Box first{280, 140, 360, 340};
  boxes.start(first, kImage);
  for (int t = 0; t < 5; ++t) {
    boxes.update(figure(320, 250), kSure);
    expect_box_near(boxes.box(), first, 1e-3f);
  }
  // Moving 10 px right, the box follows with the same margin and offset.
  boxes.update(figure(330, 250), kSure);
  expect_box_near(boxes.box(), Box{290, 140, 370, 340}, 1e-3f);
}

TEST(BoxTracker, SteadyFromAWholeFrameBoxFitsThePersonAtOnce) {
  // dkd_infer without --box starts from the whole frame: the calibration is
  // held to 1.5x box_scale (2.4 here) and a centre shift of a quarter of the
  // joints' extent, and the first prediction's box is taken without the
  // per-frame size bound.
  BoxTracker boxes(steady_rule());
  boxes.start({0, 0, 639, 479}, kImage);
  boxes.update(figure(320, 250), kSure);
  EXPECT_NEAR(boxes.box().height(), 100 * 2.4, 1e-2);
  EXPECT_NEAR(boxes.box().width(), 40 * 2.4, 1e-2);
  // The whole frame's centre (239.5) is 0.105 of the extent above the joints' (250): within a quarter.
  EXPECT_NEAR(0.5f * (boxes.box().y1 + boxes.box().y2), 239.5, 1e-2);
}

TEST(BoxTracker, SteadyFaintJointsShrinkTheBoxOnlySlowly) {
  // The feet fade (low peaks, collapsed onto the body centre) and do not place
  // the box: its side shrinks by the per-frame bound only, where the extent
  // rule's loses a fifth at once.
  auto kps = figure(320, 250);
  kps[3] = kps[4] = {320, 250};
  const std::vector<float> faint_feet = {0.9f, 0.9f, 0.9f, 0.05f, 0.05f};
  const Box first{280, 140, 360, 340};
  BoxTracker boxes(steady_rule());
  boxes.start(first, kImage);
  boxes.update(figure(320, 250), kSure);
  boxes.update(kps, faint_feet);
  EXPECT_NEAR(boxes.box().height(), 200 / 1.05, 1e-2);

  InferConfig e;
  e.box_rule = BoxRuleKind::extent;
  e.box_min_confidence = 0.0;
  e.box_smoothing = 0.0;
  BoxTracker extent(e);
  extent.start(first, kImage);
  extent.update(figure(320, 250), kSure);
  const float before = extent.box().height();
  extent.update(kps, faint_feet);
  EXPECT_LT(extent.box().height(), 0.85f * before);
}

TEST(BoxTracker, SteadyCentreSmoothingPlacesThePersonAtOnceThenMovesByItsShare) {
  // From a whole-frame start the first prediction's centre is taken as it is;
  // later the centre moves by (1 - box_center_smoothing) of the way each frame.
  InferConfig c = steady_rule();
  c.box_center_smoothing = 0.9;
  BoxTracker boxes(c);
  boxes.start({0, 0, 639, 479}, kImage);
  boxes.update(figure(420, 250), kSure);
  // The whole frame's centre (319.5) is held to a quarter of the joints' extent (100) from theirs.
  const float cx0 = 0.5f * (boxes.box().x1 + boxes.box().x2);
  EXPECT_NEAR(cx0, 420.f - 25.f, 1e-2);
  boxes.update(figure(440, 250), kSure);  // 20 px right: the box moves 2 px
  EXPECT_NEAR(0.5f * (boxes.box().x1 + boxes.box().x2), cx0 + 2.f, 1e-2);
  // The defaults are this rule (chosen on validation videos, docs/method.md).
  const InferConfig d;
  EXPECT_EQ(d.box_rule, BoxRuleKind::steady);
  EXPECT_DOUBLE_EQ(d.box_center_smoothing, 0.9);
  EXPECT_DOUBLE_EQ(d.box_min_confidence, 0.3);
}

TEST(BoxTracker, SteadySizeChangesAtMostTheBoundPerFrame) {
  BoxTracker boxes(steady_rule());
  boxes.start({280, 140, 360, 340}, kImage);
  boxes.update(figure(320, 250), kSure);
  boxes.update(figure(320, 250, 2.f), kSure);  // twice the size at once
  EXPECT_NEAR(boxes.box().height(), 200 * 1.05, 1e-2);
  boxes.update(figure(320, 250, 0.25f), kSure);  // a quarter
  EXPECT_NEAR(boxes.box().height(), 200 * 1.05 / 1.05, 1e-2);
}

TEST(BoxTracker, SteadyVelocityCarriesTheBoxAhead) {
  InferConfig c = steady_rule();
  c.box_velocity = 1.0;
  BoxTracker boxes(c);
  boxes.start({280, 140, 360, 340}, kImage);
  for (int t = 0; t < 12; ++t) boxes.update(figure(320.f + 4.f * t, 250), kSure);
  // The last figure is at x = 364; its box centre would be 364, one frame ahead is 368.
  EXPECT_NEAR(0.5f * (boxes.box().x1 + boxes.box().x2), 368.f, 0.05f);
}

TEST(BoxTracker, SteadyKeepsTheBoxWhenThePersonIsLostAndStaysOnTheImage) {
  BoxTracker boxes(steady_rule());
  const Box first{280, 140, 360, 340};
  boxes.start(first, kImage);
  boxes.update(figure(320, 250), kSure);
  boxes.update(figure(100, 100), std::vector<float>(5, 0.01f));  // nothing sure
  expect_box_near(boxes.box(), first, 1e-3f);
  // Joints off the image: the centre is kept on it.
  for (int t = 0; t < 40; ++t) boxes.update(figure(320.f + 40.f * t, 250), kSure);
  EXPECT_LE(0.5f * (boxes.box().x1 + boxes.box().x2), kImage.width - 1.f);
}

InferConfig network_rule(double smoothing, bool calibrate = false) {
  InferConfig c;
  c.box_rule = BoxRuleKind::network;
  c.box_network_smoothing = smoothing;
  c.box_max_size_change = 0.05;
  c.box_calibrate = calibrate;
  return c;
}

TEST(BoxTracker, NetworkRuleFollowsTheNetworksBoxNotTheJoints) {
  BoxTracker boxes(network_rule(0.0));
  EXPECT_TRUE(boxes.needs_network());
  boxes.start({280, 140, 360, 340}, kImage);
  EXPECT_THROW(boxes.update(figure(320, 250), kSure), Error);  // the rule needs the network's box
  // The first answer is taken as it is, whatever the joints say.
  const Box seen{300, 150, 380, 350};
  boxes.update(figure(100, 100), kSure, &seen);
  expect_box_near(boxes.box(), seen, 1e-3f);
  // Later ones: the centre follows at once, the sides change by at most 5%.
  const Box moved{310, 100, 450, 400};
  boxes.update(figure(100, 100), kSure, &moved);
  EXPECT_NEAR(0.5f * (boxes.box().x1 + boxes.box().x2), 380.f, 1e-3f);
  EXPECT_NEAR(0.5f * (boxes.box().y1 + boxes.box().y2), 250.f, 1e-3f);
  EXPECT_NEAR(boxes.box().width(), 80 * 1.05, 1e-2);
  EXPECT_NEAR(boxes.box().height(), 200 * 1.05, 1e-2);
}

TEST(BoxTracker, NetworkRuleSmoothsAndIgnoresBoxesItCannotUse) {
  BoxTracker boxes(network_rule(0.75));
  const Box first{280, 140, 360, 340};
  boxes.start(first, kImage);
  boxes.update(figure(320, 250), kSure, &first);
  const Box right{320, 140, 400, 340};  // 40 px to the right: the box moves a quarter of the way
  boxes.update(figure(320, 250), kSure, &right);
  EXPECT_NEAR(0.5f * (boxes.box().x1 + boxes.box().x2), 330.f, 1e-3f);
  const Box before = boxes.box();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const Box& bad : {Box{nan, 140, 400, 340}, Box{400, 140, 320, 340}, Box{700, 500, 800, 600}}) {
    boxes.update(figure(320, 250), kSure, &bad);
    expect_box_near(boxes.box(), before, 1e-4f);
  }
}

TEST(BoxTracker, NetworkRuleHoldsTheFirstBoxsRelationToTheNetworksAnswer) {
  BoxTracker boxes(network_rule(0.0, /*calibrate=*/true));
  const Box first{280, 140, 360, 340};  // 80 x 200, centre (320, 240)
  boxes.start(first, kImage);
  // The network places this person 20 px right of the given box and 0.8 of its size:
  // that relation (a shift of 20 / 160 of its larger side, a size ratio of 1.25) stays.
  const Box seen{308, 160, 372, 320};  // 64 x 160, centre (340, 240)
  boxes.update(figure(0, 0), kSure, &seen);
  expect_box_near(boxes.box(), first, 1e-3f);
  const Box moved{318, 160, 382, 320};  // the person moved 10 px right
  boxes.update(figure(0, 0), kSure, &moved);
  EXPECT_NEAR(0.5f * (boxes.box().x1 + boxes.box().x2), 330.f, 1e-3f);
  EXPECT_NEAR(boxes.box().width(), 80.f, 1e-3f);
  EXPECT_NEAR(boxes.box().height(), 200.f, 1e-3f);
  // A first box far from the network's answer (the whole frame) is held to the bounds.
  BoxTracker loose(network_rule(0.0, true));
  loose.start({0, 0, 640, 480}, kImage);
  loose.update(figure(0, 0), kSure, &seen);
  EXPECT_LE(loose.box().width(), 64 * 1.5f + 1e-3f);
  EXPECT_LE(std::abs(0.5f * (loose.box().x1 + loose.box().x2) - 340.f), 0.25f * 160 + 1e-3f);
}

TEST(BoxTracker, NetworkRuleRefinesTheFramesBoxBeforeThePoseNetworkRuns) {
  InferConfig rule = network_rule(0.0, /*calibrate=*/true);
  BoxTracker off(rule);
  off.start({280, 140, 360, 340}, kImage);
  EXPECT_FALSE(off.refines());  // infer.box_network_refine is 0 by default
  rule.box_network_refine = 0.5;
  EXPECT_EQ(box_network_runs_per_frame(rule), 4);  // the mirrored crop, and twice a frame
  BoxTracker boxes(rule);
  const Box first{280, 140, 360, 340};
  boxes.start(first, kImage);
  EXPECT_FALSE(boxes.refines());  // not before the first answer calibrated the rule
  // Calibrated on the first answer (20 px right, 0.8 of the size) as update() does.
  const Box seen{308, 160, 372, 320};
  boxes.update(figure(0, 0), kSure, &seen);
  ASSERT_TRUE(boxes.refines());
  // In the next frame's crop the network finds the person 40 px further right:
  // calibrated, centre 360; half of the way (0.5) moves the box to 340.
  boxes.refine({348, 160, 412, 320});
  EXPECT_NEAR(0.5f * (boxes.box().x1 + boxes.box().x2), 340.f, 1e-3f);
  EXPECT_NEAR(boxes.box().width(), 80.f, 1e-3f);
  // A box it cannot use leaves the box where it is.
  const Box before = boxes.box();
  boxes.refine({400, 140, 320, 340});
  expect_box_near(boxes.box(), before, 1e-4f);
  rule.box_network_flip = false;
  EXPECT_EQ(box_network_runs_per_frame(rule), 2);
  rule.box_rule = BoxRuleKind::steady;
  EXPECT_EQ(box_network_runs_per_frame(rule), 0);
}

}  // namespace
}  // namespace dkd
