// Temporal smoothness (mean keypoint acceleration): hand-computed cases.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "dkd/eval/pck.h"
#include "dkd/eval/smoothness.h"
#include "pose_fixtures.h"

namespace dkd {
namespace {

using test::at;
using test::pose_record;

TEST(Smoothness, HandComputedThroughEvaluator) {
  // Ground truth static (acceleration 0); predictions of every joint jump x by
  // 0, 3, 0 -> acceleration |0 - 6 + 0| = 6 px at t = 1; box 200 -> 3 %.
  VideoRecord r = pose_record("penn", "0001", "bowl", 3, 200.f, 100.f);
  std::vector<Point2> p = r.joints;
  for (int j = 0; j < r.num_joints; ++j) at(p, r, 1, j).x += 3.f;
  r.visible[1 * r.num_joints + 0] = 0;  // head triple is not valid
  PckEvaluator ev("penn");
  ev.process(r, p);
  const SmoothnessResult& s = ev.evaluate().smoothness;
  EXPECT_DOUBLE_EQ(s.triples, 12.0);
  EXPECT_DOUBLE_EQ(s.pred_px, 6.0);
  EXPECT_DOUBLE_EQ(s.gt_px, 0.0);
  EXPECT_DOUBLE_EQ(s.pred_box, 3.0);
  EXPECT_DOUBLE_EQ(s.gt_box, 0.0);
  EXPECT_TRUE(std::isnan(s.ratio()));
  ASSERT_EQ(s.column_names.size(), 7u);
  EXPECT_TRUE(std::isnan(s.column_pred_px[0]));  // Head: no valid triple
  EXPECT_DOUBLE_EQ(s.column_pred_px[3], 6.0);
}

TEST(Smoothness, JhmdbIgnoresVisibilityAndNonFiniteTriplesDoNotCount) {
  // JHMDB: every joint counts whatever its flag. Predictions jump y by 0, 4, 0
  // -> 8 px on a box of 200 -> 4 %; r_wrist (11) is NaN in frame 2 of 4, so
  // both its triples (frames 0-2 and 1-3) drop out.
  VideoRecord r = pose_record("jhmdb", "run/v1", "run", 4, 200.f, 100.f);
  for (auto& v : r.visible) v = 0;
  std::vector<Point2> p = r.joints;
  for (int j = 0; j < r.num_joints; ++j) at(p, r, 1, j).y += 4.f;
  at(p, r, 2, 11).x = std::nanf("");
  SmoothnessCounts counts(r.num_joints);
  counts.add(r, p, /*use_visibility=*/false);
  const SmoothnessResult s = counts.result(skeleton_for("jhmdb"));
  // 13 table joints x 2 triples, less r_wrist's 2. Triples at t = 1 see 8 px,
  // at t = 2 (frames 1-3) |4 - 0 + 0| = 4 px.
  EXPECT_DOUBLE_EQ(s.triples, 24.0);
  EXPECT_DOUBLE_EQ(s.pred_px, 6.0);
  EXPECT_DOUBLE_EQ(s.pred_box, 3.0);
  EXPECT_DOUBLE_EQ(s.gt_px, 0.0);
  EXPECT_DOUBLE_EQ(s.column_pred_px[3], 6.0);  // Wri: l_wrist alone
  // With the visibility flags honoured (Penn's rule) nothing is valid.
  SmoothnessCounts visible_only(r.num_joints);
  visible_only.add(r, p, /*use_visibility=*/true);
  EXPECT_DOUBLE_EQ(visible_only.result(skeleton_for("jhmdb")).triples, 0.0);
  EXPECT_TRUE(std::isnan(visible_only.result(skeleton_for("jhmdb")).pred_px));
}

TEST(Smoothness, CountsRoundTripAddsOrReplaces) {
  VideoRecord r = pose_record("penn", "0001", "bowl", 3);
  std::vector<Point2> p = r.joints;
  for (int j = 0; j < r.num_joints; ++j) at(p, r, 1, j).x += 1.f;
  SmoothnessCounts a(r.num_joints);
  a.add(r, p, true);
  std::vector<double> c = {7.0};  // appended after what is there
  a.append_to(c);
  ASSERT_EQ(a.size(), 5u * 13u);
  ASSERT_EQ(c.size(), 1 + a.size());
  SmoothnessCounts b(r.num_joints);
  std::size_t pos = 1;
  b.read_from(c, pos, /*replace=*/false);
  EXPECT_EQ(pos, c.size());
  const Skeleton& sk = skeleton_for("penn");
  EXPECT_DOUBLE_EQ(b.result(sk).pred_px, a.result(sk).pred_px);
  EXPECT_DOUBLE_EQ(b.result(sk).triples, 13.0);
  pos = 1;
  b.read_from(c, pos, /*replace=*/false);  // summed: twice the triples, same mean
  EXPECT_DOUBLE_EQ(b.result(sk).triples, 26.0);
  EXPECT_DOUBLE_EQ(b.result(sk).pred_px, 2.0);
  pos = 1;
  b.read_from(c, pos, /*replace=*/true);
  EXPECT_DOUBLE_EQ(b.result(sk).triples, 13.0);
  b.reset(r.num_joints);
  EXPECT_DOUBLE_EQ(b.result(sk).triples, 0.0);
}

TEST(Smoothness, AverageIsMeanOfValuesWithTriplesSummed) {
  SmoothnessResult x, y;
  x.pred_px = 2.0;
  x.gt_px = 1.0;
  x.pred_box = 4.0;
  x.gt_box = 2.0;
  x.triples = 10;
  x.column_names = {"Head", "Sho"};
  x.column_pred_px = {1.0, std::nan("")};
  x.column_gt_px = {1.0, 1.0};
  y.pred_px = std::nan("");  // a split with no valid triple is left out
  y.gt_px = 3.0;
  y.pred_box = 6.0;
  y.gt_box = 4.0;
  y.triples = 5;
  y.column_names = x.column_names;
  y.column_pred_px = {3.0, 5.0};
  y.column_gt_px = {2.0};  // shorter: NaN where it ends
  const SmoothnessResult s = average_smoothness({&x, &y});
  EXPECT_DOUBLE_EQ(s.pred_px, 2.0);
  EXPECT_DOUBLE_EQ(s.gt_px, 2.0);
  EXPECT_DOUBLE_EQ(s.pred_box, 5.0);
  EXPECT_DOUBLE_EQ(s.gt_box, 3.0);
  EXPECT_DOUBLE_EQ(s.triples, 15.0);
  EXPECT_DOUBLE_EQ(s.ratio(), 1.0);
  EXPECT_EQ(s.column_names, x.column_names);
  EXPECT_EQ(s.column_pred_px, (std::vector<double>{2.0, 5.0}));
  EXPECT_EQ(s.column_gt_px, (std::vector<double>{1.5, 1.0}));
}

}  // namespace
}  // namespace dkd
