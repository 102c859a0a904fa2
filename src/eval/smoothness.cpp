#include "dkd/eval/smoothness.h"

#include <algorithm>
#include <cmath>

#include "dkd/eval/numbers.h"

namespace dkd {

double SmoothnessResult::ratio() const { return gt_px > 0 ? pred_px / gt_px : kNaN; }

void SmoothnessCounts::reset(int num_joints) {
  for (auto* v : {&pred_px_, &gt_px_, &pred_box_, &gt_box_, &triples_}) v->assign(num_joints, 0.0);
}

void SmoothnessCounts::add(const VideoRecord& gt, const std::vector<Point2>& pred, bool use_visibility) {
  const int T = gt.num_frames();
  const int J = static_cast<int>(pred_px_.size());
  auto valid_at = [&](int t, int j) { return !use_visibility || gt.is_visible(t, j); };
  auto pred_at = [&](int t, int j) -> const Point2& { return pred[static_cast<std::size_t>(t) * J + j]; };
  for (int t = 1; t + 1 < T; ++t) {
    const Box& b = gt.boxes[t];
    const double size = std::max(1.0, std::max(static_cast<double>(b.x2) - b.x1, static_cast<double>(b.y2) - b.y1));
    for (int j = 0; j < J; ++j) {
      if (!valid_at(t - 1, j) || !valid_at(t, j) || !valid_at(t + 1, j)) continue;
      const Point2 &p0 = pred_at(t - 1, j), &p1 = pred_at(t, j), &p2 = pred_at(t + 1, j);
      if (!is_finite(p0) || !is_finite(p1) || !is_finite(p2)) continue;
      const Point2 &g0 = gt.joint(t - 1, j), &g1 = gt.joint(t, j), &g2 = gt.joint(t + 1, j);
      const double apx = static_cast<double>(p2.x) - 2.0 * p1.x + p0.x;
      const double apy = static_cast<double>(p2.y) - 2.0 * p1.y + p0.y;
      const double agx = static_cast<double>(g2.x) - 2.0 * g1.x + g0.x;
      const double agy = static_cast<double>(g2.y) - 2.0 * g1.y + g0.y;
      const double ap = std::sqrt(apx * apx + apy * apy);
      const double ag = std::sqrt(agx * agx + agy * agy);
      pred_px_[j] += ap;
      gt_px_[j] += ag;
      pred_box_[j] += 100.0 * ap / size;
      gt_box_[j] += 100.0 * ag / size;
      triples_[j] += 1;
    }
  }
}

SmoothnessResult SmoothnessCounts::result(const Skeleton& skeleton) const {
  SmoothnessResult s;
  double sp = 0, sg = 0, sbp = 0, sbg = 0, n = 0;
  for (int j : skeleton.table_joints()) {
    sp += pred_px_[j];
    sg += gt_px_[j];
    sbp += pred_box_[j];
    sbg += gt_box_[j];
    n += triples_[j];
  }
  s.triples = n;
  s.pred_px = n > 0 ? sp / n : kNaN;
  s.gt_px = n > 0 ? sg / n : kNaN;
  s.pred_box = n > 0 ? sbp / n : kNaN;
  s.gt_box = n > 0 ? sbg / n : kNaN;
  for (const auto& col : skeleton.columns) {
    double cp = 0, cg = 0, cn = 0;
    for (int j : col.second) {
      cp += pred_px_[j];
      cg += gt_px_[j];
      cn += triples_[j];
    }
    s.column_names.push_back(col.first);
    s.column_pred_px.push_back(cn > 0 ? cp / cn : kNaN);
    s.column_gt_px.push_back(cn > 0 ? cg / cn : kNaN);
  }
  return s;
}

void SmoothnessCounts::append_to(std::vector<double>& out) const {
  for (const auto* v : {&pred_px_, &gt_px_, &pred_box_, &gt_box_, &triples_})
    out.insert(out.end(), v->begin(), v->end());
}

void SmoothnessCounts::read_from(const std::vector<double>& counts, std::size_t& pos, bool replace) {
  for (auto* v : {&pred_px_, &gt_px_, &pred_box_, &gt_box_, &triples_})
    for (double& x : *v) {
      x = replace ? counts[pos] : x + counts[pos];
      ++pos;
    }
}

SmoothnessResult average_smoothness(const std::vector<const SmoothnessResult*>& results) {
  SmoothnessResult s;
  std::vector<double> pp, gp, pb, gb;
  std::vector<const std::vector<double>*> cp, cg;
  for (const auto* r : results) {
    pp.push_back(r->pred_px);
    gp.push_back(r->gt_px);
    pb.push_back(r->pred_box);
    gb.push_back(r->gt_box);
    s.triples += r->triples;
    cp.push_back(&r->column_pred_px);
    cg.push_back(&r->column_gt_px);
  }
  s.pred_px = nan_mean(pp);
  s.gt_px = nan_mean(gp);
  s.pred_box = nan_mean(pb);
  s.gt_box = nan_mean(gb);
  s.column_names = results.front()->column_names;
  s.column_pred_px = nan_mean_elementwise(cp);
  s.column_gt_px = nan_mean_elementwise(cg);
  return s;
}

}  // namespace dkd
