// PCK evaluator: hand-computed cases for the rules of docs/datasets.md "PCK, exactly".
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "dkd/eval/pck.h"
#include "dkd/util/error.h"
#include "pose_fixtures.h"

namespace dkd {
namespace {

using test::at;
using test::offset;
using test::pose_record;

TEST(Pck, DistanceExactlyAtThresholdCounts) {
  // Box 100 x 50 -> norm 100; threshold 0.2 -> 20 px. Offset (12, 16) has length 20.
  VideoRecord r = pose_record("penn", "0001", "bowl", 1);
  std::vector<Point2> p = offset(r, 12.f, 16.f);
  at(p, r, 0, 1) = {r.joint(0, 1).x, r.joint(0, 1).y + 20.5f};  // just outside
  PckEvaluator ev("penn");
  ev.process(r, p);
  EvalResult res = ev.evaluate();
  EXPECT_DOUBLE_EQ(res.pck.per_joint[0], 100.0);
  EXPECT_DOUBLE_EQ(res.pck.per_joint[1], 0.0);
  EXPECT_DOUBLE_EQ(res.pck.per_joint[12], 100.0);
  EXPECT_DOUBLE_EQ(res.pck.pooled, 100.0 * 12 / 13);
  EXPECT_EQ(res.pck.norm, "bbox");
  EXPECT_DOUBLE_EQ(res.pck.threshold, 0.2);
}

TEST(Pck, NormIsLongerBoxSide) {
  // Box 40 x 150 -> norm 150 -> 30 px; offset (0, 30) is correct, (0, 31) is not.
  VideoRecord r = pose_record("penn", "0001", "bowl", 2, 40.f, 150.f);
  std::vector<Point2> p = r.joints;
  for (int j = 0; j < r.num_joints; ++j) {
    at(p, r, 0, j).y += 30.f;
    at(p, r, 1, j).y += 31.f;
  }
  PckEvaluator ev("penn");
  ev.process(r, p);
  EvalResult res = ev.evaluate();
  for (double v : res.pck.per_joint) EXPECT_DOUBLE_EQ(v, 50.0);
}

TEST(Pck, InvisiblePennJointsAreSkipped) {
  VideoRecord r = pose_record("penn", "0001", "bowl", 2);
  std::vector<Point2> p = r.joints;
  // Joint 3 invisible in frame 0 with a huge error: not counted at all.
  r.visible[0 * r.num_joints + 3] = 0;
  at(p, r, 0, 3) = {1000.f, 1000.f};
  // Joint 4 invisible in both frames: no valid instance -> NaN, left out of means.
  r.visible[0 * r.num_joints + 4] = 0;
  r.visible[1 * r.num_joints + 4] = 0;
  at(p, r, 0, 4) = {1000.f, 1000.f};
  at(p, r, 1, 4) = {1000.f, 1000.f};
  PckEvaluator ev("penn");
  ev.process(r, p);
  EvalResult res = ev.evaluate();
  EXPECT_DOUBLE_EQ(res.pck.valid[3], 1.0);
  EXPECT_DOUBLE_EQ(res.pck.per_joint[3], 100.0);
  EXPECT_DOUBLE_EQ(res.pck.valid[4], 0.0);
  EXPECT_TRUE(std::isnan(res.pck.per_joint[4]));
  EXPECT_DOUBLE_EQ(res.pck.column("Elb"), 100.0);  // mean of the joints that have data
  EXPECT_DOUBLE_EQ(res.pck.mean_joints, 100.0);
  EXPECT_DOUBLE_EQ(res.pck.mean_columns, 100.0);
  EXPECT_DOUBLE_EQ(res.pck.pooled, 100.0);
}

TEST(Pck, JhmdbCountsAllJointsAndExcludesNeckBellyFromTable) {
  VideoRecord r = pose_record("jhmdb", "run/v1", "run", 1);
  for (auto& v : r.visible) v = 0;  // ignored for JHMDB
  std::vector<Point2> p = r.joints;
  at(p, r, 0, 0) = {500.f, 500.f};   // neck wrong
  at(p, r, 0, 1) = {500.f, 500.f};   // belly wrong
  at(p, r, 0, 11) = {500.f, 500.f};  // r_wrist wrong
  PckEvaluator ev("jhmdb");
  ev.process(r, p);
  EvalResult res = ev.evaluate();
  ASSERT_EQ(res.pck.per_joint.size(), 15u);
  EXPECT_DOUBLE_EQ(res.pck.joint("neck"), 0.0);
  EXPECT_DOUBLE_EQ(res.pck.joint("belly"), 0.0);
  EXPECT_DOUBLE_EQ(res.pck.joint("r_wrist"), 0.0);
  EXPECT_DOUBLE_EQ(res.pck.valid[0], 1.0);
  EXPECT_DOUBLE_EQ(res.pck.column("Wri"), 50.0);
  EXPECT_DOUBLE_EQ(res.pck.mean_joints, 100.0 * 12 / 13);
  EXPECT_DOUBLE_EQ(res.pck.mean_columns, (6 * 100.0 + 50.0) / 7);
  EXPECT_DOUBLE_EQ(res.pck.pooled, 100.0 * 12 / 13);
}

TEST(Pck, ThreeMeansHandComputed) {
  // Frame 0: all visible; wrists (5, 6) and r_ankle (12) wrong.
  // Frame 1: only head (0) and l_wrist (5) visible, both right.
  VideoRecord r = pose_record("penn", "0001", "bowl", 2);
  std::vector<Point2> p = r.joints;
  for (int j : {5, 6, 12}) at(p, r, 0, j).x += 90.f;
  for (int j = 0; j < r.num_joints; ++j)
    if (j != 0 && j != 5) {
      r.visible[1 * r.num_joints + j] = 0;
      at(p, r, 1, j).x += 90.f;
    }
  PckEvaluator ev("penn");
  ev.process(r, p);
  EvalResult res = ev.evaluate();
  EXPECT_DOUBLE_EQ(res.pck.per_joint[0], 100.0);
  EXPECT_DOUBLE_EQ(res.pck.per_joint[5], 50.0);
  EXPECT_DOUBLE_EQ(res.pck.per_joint[6], 0.0);
  EXPECT_DOUBLE_EQ(res.pck.per_joint[12], 0.0);
  EXPECT_DOUBLE_EQ(res.pck.column("Head"), 100.0);
  EXPECT_DOUBLE_EQ(res.pck.column("Wri"), 25.0);
  EXPECT_DOUBLE_EQ(res.pck.column("Ank"), 50.0);
  // per joint: ten at 100, 50, 0, 0 -> 1050 / 13
  EXPECT_DOUBLE_EQ(res.pck.mean_joints, 1050.0 / 13.0);
  // columns: five at 100, 25, 50 -> 575 / 7
  EXPECT_DOUBLE_EQ(res.pck.mean_columns, 575.0 / 7.0);
  // hits 10 + 2 = 12 of 13 + 2 = 15 valid
  EXPECT_DOUBLE_EQ(res.pck.pooled, 80.0);
  EXPECT_EQ(res.pck.column_names, (std::vector<std::string>{"Head", "Sho", "Elb", "Wri", "Hip", "Knee", "Ank"}));
}

TEST(Pck, TorsoNormAndFallbackToPredictedPair) {
  // Penn torso pair: r_shoulder (2) and l_hip (7).
  VideoRecord r = pose_record("penn", "0001", "bowl", 2);
  // Frame 0: ground-truth torso 0.5 px (< 1) -> predicted pair is used.
  r.joint(0, 2) = {50.f, 50.f};
  r.joint(0, 7) = {50.5f, 50.f};
  // Frame 1: ground-truth torso 10 px -> threshold 2 px.
  r.joint(1, 2) = {50.f, 50.f};
  r.joint(1, 7) = {50.f, 60.f};
  std::vector<Point2> p = r.joints;
  at(p, r, 0, 7) = {50.f, 80.f};  // predicted torso = 30 px -> threshold 6 px
  at(p, r, 0, 0).y += 6.f;        // exactly at 6 -> correct
  at(p, r, 0, 1).y += 6.5f;       // wrong
  at(p, r, 1, 0).x += 2.f;        // exactly at 2 -> correct
  at(p, r, 1, 1).x += 2.5f;       // wrong (but within bbox 20 px)
  PckEvaluator ev("penn");
  ev.process(r, p);
  EvalResult res = ev.evaluate();
  EXPECT_EQ(res.pck_torso.norm, "torso");
  EXPECT_DOUBLE_EQ(res.pck_torso.per_joint[0], 100.0);
  EXPECT_DOUBLE_EQ(res.pck_torso.per_joint[1], 0.0);
  EXPECT_DOUBLE_EQ(res.pck_torso.per_joint[7], 50.0);  // frame 0 off by 30 px
  EXPECT_DOUBLE_EQ(res.pck.per_joint[1], 100.0);       // bbox norm 100 -> 20 px
  EXPECT_DOUBLE_EQ(res.pck.per_joint[7], 50.0);
}

TEST(Pck, CurveWithKnownOffset) {
  // Offset 10 px with norm 100: correct from threshold 0.10 on.
  VideoRecord r = pose_record("penn", "0001", "bowl", 3);
  PckEvaluator ev("penn");
  ev.process(r, offset(r, 6.f, 8.f));
  EvalResult res = ev.evaluate();
  ASSERT_EQ(res.curve.size(), 10u);
  EXPECT_DOUBLE_EQ(res.curve[0].first, 0.05);
  EXPECT_DOUBLE_EQ(res.curve[0].second, 0.0);
  for (std::size_t k = 1; k < 10; ++k) {
    EXPECT_DOUBLE_EQ(res.curve[k].first, (k + 1) / 20.0);
    EXPECT_DOUBLE_EQ(res.curve[k].second, 100.0) << k;
  }
  EXPECT_DOUBLE_EQ(res.curve[9].first, 0.5);
  EXPECT_DOUBLE_EQ(res.pck.mean_joints, 100.0);
  EXPECT_DOUBLE_EQ(res.frames, 3.0);
  EXPECT_DOUBLE_EQ(res.videos, 1.0);
}

TEST(Pck, CustomMainThreshold) {
  VideoRecord r = pose_record("penn", "0001", "bowl", 1);
  PckOptions o;
  o.threshold = 0.05;  // 5 px
  PckEvaluator ev("penn", o);
  ev.process(r, offset(r, 3.f, 4.f));  // 5 px -> correct
  EXPECT_DOUBLE_EQ(ev.evaluate().pck.mean_joints, 100.0);
  EXPECT_DOUBLE_EQ(ev.evaluate().pck.threshold, 0.05);
}

TEST(Pck, PerActionAndNonFinitePredictions) {
  VideoRecord a = pose_record("penn", "0001", "bowl", 2);
  VideoRecord b = pose_record("penn", "0002", "squat", 1);
  std::vector<Point2> pb = b.joints;
  for (auto& q : pb) q.x = std::nanf("");
  PckEvaluator ev("penn");
  ev.process(a, a.joints);
  ev.process(b, pb);
  EvalResult res = ev.evaluate();
  ASSERT_EQ(res.per_action.size(), 2u);
  EXPECT_EQ(res.per_action[0].action, "bowl");
  EXPECT_DOUBLE_EQ(res.per_action[0].pck.mean_joints, 100.0);
  EXPECT_DOUBLE_EQ(res.per_action[0].frames, 2.0);
  EXPECT_EQ(res.per_action[1].action, "squat");
  EXPECT_DOUBLE_EQ(res.per_action[1].pck.mean_joints, 0.0);
  EXPECT_NEAR(res.pck.pooled, 100.0 * 2 / 3, 1e-12);
}

TEST(Pck, CountsMergeEqualsSingleEvaluator) {
  VideoRecord a = pose_record("penn", "0001", "bowl", 3);
  VideoRecord b = pose_record("penn", "0002", "squat", 4);
  std::vector<Point2> pa = offset(a, 15.f, 0.f), pb = offset(b, 25.f, 0.f);
  PckOptions o;
  o.actions = {"bowl", "squat"};
  PckEvaluator all("penn", o), r0("penn", o), r1("penn", o);
  all.process(a, pa);
  all.process(b, pb);
  r0.process(a, pa);
  r1.process(b, pb);
  std::vector<double> sum = r0.counts();
  const std::vector<double> c1 = r1.counts();
  ASSERT_EQ(sum.size(), c1.size());
  ASSERT_EQ(sum.size(), r0.counts_size());
  for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += c1[i];  // "all-reduce"
  PckEvaluator merged("penn", o);
  merged.set_counts(sum);
  EXPECT_EQ(merged.counts(), all.counts());
  r0.merge(c1);
  EXPECT_EQ(r0.counts(), all.counts());
  EvalResult res = merged.evaluate();
  EXPECT_DOUBLE_EQ(res.pck.mean_joints, 100.0 * 3 / 7);  // 15 px hits, 25 px misses
  EXPECT_DOUBLE_EQ(res.frames, 7.0);
  merged.reset();
  EXPECT_DOUBLE_EQ(merged.evaluate().frames, 0.0);
  // Layout mismatch and an action outside the fixed list are usage errors.
  PckEvaluator other("penn");
  EXPECT_THROW(other.merge(sum), UsageError);
  VideoRecord c = pose_record("penn", "0003", "pullup", 1);
  EXPECT_THROW(all.process(c, c.joints), UsageError);
}

TEST(Pck, ByFrameIndexBucketsHandComputed) {
  // 45 frames: exact on frame 1 and on frames 5-10, 40 px off (a miss) elsewhere.
  VideoRecord r = pose_record("penn", "0001", "bowl", 45);
  std::vector<Point2> p = offset(r, 40.f, 0.f);
  for (int t : {0, 4, 5, 6, 7, 8, 9})
    for (int j = 0; j < r.num_joints; ++j) at(p, r, t, j) = r.joint(t, j);
  PckOptions options;
  options.actions = {"bowl"};
  PckEvaluator ev("penn", options);
  ev.process(r, p);
  const EvalResult res = ev.evaluate();
  ASSERT_EQ(res.by_frame.size(), 6u);
  const std::vector<std::string> labels = {"1", "2-4", "5-10", "11-20", "21-40", "41+"};
  const std::vector<double> want = {100, 0, 100, 0, 0, 0};
  const std::vector<double> frames = {1, 3, 6, 10, 20, 5};
  for (std::size_t b = 0; b < 6; ++b) {
    EXPECT_EQ(res.by_frame[b].label(), labels[b]);
    EXPECT_DOUBLE_EQ(res.by_frame[b].pck.mean_joints, want[b]) << labels[b];
    EXPECT_DOUBLE_EQ(res.by_frame[b].pck.valid[0], frames[b]) << labels[b];
  }
  // The buckets survive the counts round trip (distributed evaluation).
  PckEvaluator merged("penn", options);
  merged.merge(ev.counts());
  EXPECT_DOUBLE_EQ(merged.evaluate().by_frame[2].pck.mean_joints, 100.0);
  EXPECT_DOUBLE_EQ(merged.evaluate().by_frame[1].pck.mean_joints, 0.0);
}

TEST(Pck, BadInputNamesTheVideo) {
  VideoRecord r = pose_record("penn", "0042", "bowl", 2);
  PckEvaluator ev("penn");
  std::vector<Point2> p(5);
  try {
    ev.process(r, p);
    FAIL() << "no exception";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("0042"), std::string::npos) << e.what();
  }
  VideoRecord j = pose_record("jhmdb", "run/x", "run", 1);
  EXPECT_THROW(ev.process(j, j.joints), UsageError);
  PckOptions o;
  o.threshold = 0.0;
  EXPECT_THROW(PckEvaluator("penn", o), UsageError);
}

TEST(Pck, AverageSplitsIsMeanOfSplitPcks) {
  std::vector<EvalResult> splits;
  const float dx[3] = {0.f, 15.f, 25.f};  // box norm 100: 15 px hits, 25 px misses
  for (int s = 0; s < 3; ++s) {
    VideoRecord r = pose_record("jhmdb", "run/v" + std::to_string(s), "run", s + 1);
    std::vector<Point2> p = r.joints;
    // split s: wrists off by dx[s]
    for (int t = 0; t < r.num_frames(); ++t)
      for (int j : {11, 12}) at(p, r, t, j).x += dx[s];
    PckOptions o;
    o.split = std::to_string(s + 1);
    PckEvaluator ev("jhmdb", o);
    ev.process(r, p);
    splits.push_back(ev.evaluate());
  }
  // Per split Wri: 100, 100, 0 -> 66.67; mean_joints 100, 100, 1100/13.
  EvalResult avg = average_splits(splits);
  EXPECT_EQ(avg.split, "all");
  EXPECT_DOUBLE_EQ(avg.frames, 6.0);
  EXPECT_DOUBLE_EQ(avg.pck.column("Wri"), 200.0 / 3);
  EXPECT_DOUBLE_EQ(avg.pck.mean_joints, (100.0 + 100.0 + 1100.0 / 13) / 3);
  EXPECT_DOUBLE_EQ(avg.pck.mean_columns, (100.0 + 100.0 + 600.0 / 7) / 3);
  // Pooled is averaged per split too (not re-pooled over frames).
  EXPECT_DOUBLE_EQ(avg.pck.pooled, (100.0 + 100.0 + 1100.0 / 13) / 3);
  ASSERT_EQ(avg.per_action.size(), 1u);
  EXPECT_DOUBLE_EQ(avg.per_action[0].pck.column("Wri"), 200.0 / 3);
  EXPECT_DOUBLE_EQ(avg.curve[9].second, 100.0);
  std::vector<EvalResult> mixed = {splits[0], splits[1]};
  mixed[1].dataset = "penn";
  EXPECT_THROW(average_splits(mixed), UsageError);
  EXPECT_THROW(average_splits({}), UsageError);
}

}  // namespace
}  // namespace dkd
