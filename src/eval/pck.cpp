#include "dkd/eval/pck.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "dkd/eval/numbers.h"
#include "dkd/util/error.h"

namespace dkd {

namespace {

double ratio_pct(double hits, double valid) { return valid > 0 ? 100.0 * hits / valid : kNaN; }

double dist(const Point2& a, const Point2& b) {
  const double dx = static_cast<double>(a.x) - static_cast<double>(b.x);
  const double dy = static_cast<double>(a.y) - static_cast<double>(b.y);
  return std::sqrt(dx * dx + dy * dy);
}

std::string fmt_thr(double t) {
  std::ostringstream os;
  os << t;
  return os.str();
}

}  // namespace

std::vector<double> default_curve_thresholds() {
  std::vector<double> t;
  for (int k = 1; k <= 10; ++k) t.push_back(k / 20.0);
  return t;
}

std::vector<std::pair<int, int>> default_frame_buckets() {
  return {{1, 1}, {2, 4}, {5, 10}, {11, 20}, {21, 40}, {41, 0}};
}

std::string FrameBucket::label() const {
  if (last == 0) return std::to_string(first) + "+";
  if (last == first) return std::to_string(first);
  return std::to_string(first) + "-" + std::to_string(last);
}

namespace {

/// Index into default_frame_buckets() of a 0-based frame index.
std::size_t frame_bucket_of(int t) {
  const int f = t + 1;
  const auto buckets = default_frame_buckets();
  for (std::size_t b = 0; b < buckets.size(); ++b)
    if (f >= buckets[b].first && (buckets[b].second == 0 || f <= buckets[b].second)) return b;
  return buckets.size() - 1;
}

}  // namespace

std::vector<std::string> actions_of(const std::vector<VideoRecord>& records) {
  std::set<std::string> s;
  for (const auto& r : records) s.insert(r.action);
  return {s.begin(), s.end()};
}

double PckSummary::column(const std::string& name) const {
  for (std::size_t i = 0; i < column_names.size(); ++i)
    if (column_names[i] == name) return columns[i];
  throw UsageError("unknown PCK column '" + name + "' (expected Head, Sho, Elb, Wri, Hip, Knee, Ank)");
}

double PckSummary::joint(const std::string& name) const {
  for (std::size_t i = 0; i < joint_names.size(); ++i)
    if (joint_names[i] == name) return per_joint[i];
  throw UsageError("unknown joint '" + name + "'");
}

PckSummary summarize_pck(const Skeleton& sk, const std::vector<double>& hits, const std::vector<double>& valid,
                         double threshold, const std::string& norm) {
  const int J = sk.num_joints();
  if (static_cast<int>(hits.size()) != J || static_cast<int>(valid.size()) != J)
    throw UsageError("summarize_pck: expected " + std::to_string(J) + " joint counts, got " +
                     std::to_string(hits.size()) + " hits and " + std::to_string(valid.size()) + " valid");
  PckSummary s;
  s.threshold = threshold;
  s.norm = norm;
  s.joint_names = sk.joint_names;
  s.hits = hits;
  s.valid = valid;
  s.per_joint.resize(J);
  for (int j = 0; j < J; ++j) s.per_joint[j] = ratio_pct(hits[j], valid[j]);
  std::vector<double> table_vals;
  double th = 0.0, tv = 0.0;
  for (int j : sk.table_joints()) {
    table_vals.push_back(s.per_joint[j]);
    th += hits[j];
    tv += valid[j];
  }
  for (const auto& col : sk.columns) {
    s.column_names.push_back(col.first);
    std::vector<double> v;
    for (int j : col.second) v.push_back(s.per_joint[j]);
    s.columns.push_back(nan_mean(v));
  }
  s.mean_joints = nan_mean(table_vals);
  s.mean_columns = nan_mean(s.columns);
  s.pooled = ratio_pct(th, tv);
  return s;
}

// ---------------------------------------------------------------------------

PckEvaluator::PckEvaluator(const std::string& dataset, PckOptions options)
    : dataset_(dataset),
      skeleton_(&skeleton_for(dataset_)),
      visible_only_(counts_visible_only(dataset_spec(dataset_).pck_joints)),
      options_(std::move(options)),
      fixed_actions_(!options_.actions.empty()),
      J_(skeleton_->num_joints()),
      box_drift_(options_.crop_scale, options_.crop_aspect) {
  if (!(options_.threshold > 0)) throw UsageError("PCK threshold must be positive, got " + fmt_thr(options_.threshold));
  for (double t : options_.curve_thresholds)
    if (!(t > 0)) throw UsageError("PCK curve threshold must be positive, got " + fmt_thr(t));
  reset();
}

void PckEvaluator::reset() {
  videos_ = frames_ = 0.0;
  bbox_hits_.assign(1 + options_.curve_thresholds.size(), std::vector<double>(J_, 0.0));
  valid_.assign(J_, 0.0);
  torso_hits_.assign(J_, 0.0);
  actions_.clear();
  for (const auto& a : options_.actions) action_counts(a);
  frame_hits_.assign(default_frame_buckets().size(), std::vector<double>(J_, 0.0));
  frame_valid_.assign(default_frame_buckets().size(), std::vector<double>(J_, 0.0));
  smoothness_.reset(J_);
  box_drift_.reset();
}

PckEvaluator::ActionCounts& PckEvaluator::action_counts(const std::string& action) {
  auto it = actions_.find(action);
  if (it != actions_.end()) return it->second;
  ActionCounts c;
  c.hits.assign(J_, 0.0);
  c.valid.assign(J_, 0.0);
  return actions_.emplace(action, std::move(c)).first->second;
}

void PckEvaluator::process(const VideoRecord& gt, const std::vector<Point2>& pred, const std::vector<Box>* crop_boxes) {
  const std::string who = "video '" + gt.id + "'";
  if (gt.dataset != dataset_)
    throw UsageError(who + " is from data set '" + gt.dataset + "' but the evaluator is for '" + dataset_ + "'");
  if (gt.num_joints != J_)
    throw UsageError(who + " has " + std::to_string(gt.num_joints) + " joints, " + dataset_ + " has " +
                     std::to_string(J_));
  const int T = gt.num_frames();
  const std::size_t TJ = static_cast<std::size_t>(T) * J_;
  if (gt.joints.size() != TJ || gt.visible.size() != TJ || gt.boxes.size() != static_cast<std::size_t>(T))
    throw UsageError(who + ": record is inconsistent (" + std::to_string(T) + " frames, " +
                     std::to_string(gt.joints.size()) + " joints, " + std::to_string(gt.visible.size()) +
                     " visibility flags, " + std::to_string(gt.boxes.size()) + " boxes)");
  if (pred.size() != TJ)
    throw UsageError(who + ": expected " + std::to_string(T) + " x " + std::to_string(J_) + " predicted points, got " +
                     std::to_string(pred.size()));
  if (fixed_actions_ && actions_.find(gt.action) == actions_.end())
    throw UsageError(who + " has action '" + gt.action + "', which is not in the evaluator's fixed action list");

  const bool use_visibility = visible_only_;
  auto valid_at = [&](int t, int j) { return !use_visibility || gt.is_visible(t, j); };
  auto pred_at = [&](int t, int j) -> const Point2& { return pred[static_cast<std::size_t>(t) * J_ + j]; };
  ActionCounts& ac = action_counts(gt.action);
  const int ts = skeleton_->torso.first, th = skeleton_->torso.second;
  const std::size_t K = bbox_hits_.size();
  std::vector<double> thr(K);
  thr[0] = options_.threshold;
  for (std::size_t k = 1; k < K; ++k) thr[k] = options_.curve_thresholds[k - 1];

  for (int t = 0; t < T; ++t) {
    const Box& b = gt.boxes[t];
    const double bbox_norm = std::max(static_cast<double>(b.x2) - b.x1, static_cast<double>(b.y2) - b.y1);
    double torso_norm = dist(gt.joint(t, ts), gt.joint(t, th));
    if (torso_norm < 1.0) torso_norm = dist(pred_at(t, ts), pred_at(t, th));
    const std::size_t bucket = frame_bucket_of(t);
    for (int j = 0; j < J_; ++j) {
      if (!valid_at(t, j)) continue;
      valid_[j] += 1;
      ac.valid[j] += 1;
      frame_valid_[bucket][j] += 1;
      const Point2& p = pred_at(t, j);
      if (!is_finite(p)) continue;  // a miss
      const double d = dist(p, gt.joint(t, j));
      for (std::size_t k = 0; k < K; ++k)
        if (d <= thr[k] * bbox_norm) bbox_hits_[k][j] += 1;
      if (d <= options_.threshold * bbox_norm) {
        ac.hits[j] += 1;
        frame_hits_[bucket][j] += 1;
      }
      if (d <= options_.threshold * torso_norm) torso_hits_[j] += 1;
    }
  }
  smoothness_.add(gt, pred, use_visibility);
  if (crop_boxes) box_drift_.add(gt, *crop_boxes, use_visibility);
  videos_ += 1;
  frames_ += T;
  ac.videos += 1;
  ac.frames += T;
}

EvalResult PckEvaluator::evaluate() const {
  EvalResult r;
  r.dataset = dataset_;
  r.split = options_.split;
  r.videos = videos_;
  r.frames = frames_;
  r.pck = summarize_pck(*skeleton_, bbox_hits_[0], valid_, options_.threshold, "bbox");
  r.pck_torso = summarize_pck(*skeleton_, torso_hits_, valid_, options_.threshold, "torso");
  for (std::size_t k = 0; k < options_.curve_thresholds.size(); ++k) {
    const double t = options_.curve_thresholds[k];
    r.curve_full.push_back(summarize_pck(*skeleton_, bbox_hits_[k + 1], valid_, t, "bbox"));
    r.curve.emplace_back(t, r.curve_full.back().mean_joints);
  }
  for (const auto& kv : actions_) {
    ActionResult a;
    a.action = kv.first;
    a.videos = kv.second.videos;
    a.frames = kv.second.frames;
    a.pck = summarize_pck(*skeleton_, kv.second.hits, kv.second.valid, options_.threshold, "bbox");
    r.per_action.push_back(std::move(a));
  }
  const auto buckets = default_frame_buckets();
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    FrameBucket fb;
    fb.first = buckets[b].first;
    fb.last = buckets[b].second;
    fb.pck = summarize_pck(*skeleton_, frame_hits_[b], frame_valid_[b], options_.threshold, "bbox");
    r.by_frame.push_back(std::move(fb));
  }
  r.smoothness = smoothness_.result(*skeleton_);
  r.box_drift = box_drift_.result();
  return r;
}

std::size_t PckEvaluator::counts_size() const {
  const std::size_t J = J_;
  return 2 + bbox_hits_.size() * J + 2 * J + actions_.size() * (2 + 2 * J) + smoothness_.size() +
         2 * frame_hits_.size() * J + box_drift_.size();
}

std::vector<double> PckEvaluator::counts() const {
  std::vector<double> c;
  c.reserve(counts_size());
  auto put = [&c](const std::vector<double>& v) { c.insert(c.end(), v.begin(), v.end()); };
  c.push_back(videos_);
  c.push_back(frames_);
  for (const auto& h : bbox_hits_) put(h);
  put(valid_);
  put(torso_hits_);
  for (const auto& kv : actions_) {
    c.push_back(kv.second.videos);
    c.push_back(kv.second.frames);
    put(kv.second.hits);
    put(kv.second.valid);
  }
  smoothness_.append_to(c);
  for (std::size_t b = 0; b < frame_hits_.size(); ++b) {
    put(frame_hits_[b]);
    put(frame_valid_[b]);
  }
  box_drift_.append_to(c);
  return c;
}

void PckEvaluator::add_counts(const std::vector<double>& c, bool replace) {
  if (c.size() != counts_size())
    throw UsageError("PckEvaluator: counts have " + std::to_string(c.size()) +
                     " entries, this evaluator's layout has " + std::to_string(counts_size()) +
                     " (give every rank the same PckOptions::actions and thresholds)");
  std::size_t i = 0;
  auto take = [&](double& dst) {
    dst = replace ? c[i] : dst + c[i];
    ++i;
  };
  auto take_v = [&](std::vector<double>& v) {
    for (double& x : v) take(x);
  };
  take(videos_);
  take(frames_);
  for (auto& h : bbox_hits_) take_v(h);
  take_v(valid_);
  take_v(torso_hits_);
  for (auto& kv : actions_) {
    take(kv.second.videos);
    take(kv.second.frames);
    take_v(kv.second.hits);
    take_v(kv.second.valid);
  }
  smoothness_.read_from(c, i, replace);
  for (std::size_t b = 0; b < frame_hits_.size(); ++b) {
    take_v(frame_hits_[b]);
    take_v(frame_valid_[b]);
  }
  box_drift_.read_from(c, i, replace);
}

void PckEvaluator::merge(const std::vector<double>& counts) { add_counts(counts, false); }
void PckEvaluator::set_counts(const std::vector<double>& counts) { add_counts(counts, true); }

// ---------------------------------------------------------------------------

namespace {

std::vector<double> sum_vectors(const std::vector<const std::vector<double>*>& vs) {
  if (vs.empty()) return {};
  std::vector<double> out(vs[0]->size(), 0.0);
  for (const auto* v : vs)
    for (std::size_t i = 0; i < out.size() && i < v->size(); ++i) out[i] += (*v)[i];
  return out;
}

PckSummary average_summaries(const std::vector<const PckSummary*>& ss) {
  PckSummary out = *ss[0];
  std::vector<const std::vector<double>*> pj, cols, hits, valid;
  std::vector<double> mj, mc, po;
  for (const auto* s : ss) {
    pj.push_back(&s->per_joint);
    cols.push_back(&s->columns);
    hits.push_back(&s->hits);
    valid.push_back(&s->valid);
    mj.push_back(s->mean_joints);
    mc.push_back(s->mean_columns);
    po.push_back(s->pooled);
  }
  out.per_joint = nan_mean_elementwise(pj);
  out.columns = nan_mean_elementwise(cols);
  out.hits = sum_vectors(hits);
  out.valid = sum_vectors(valid);
  out.mean_joints = nan_mean(mj);
  out.mean_columns = nan_mean(mc);
  out.pooled = nan_mean(po);
  return out;
}

}  // namespace

EvalResult average_splits(const std::vector<EvalResult>& results) {
  if (results.empty()) throw UsageError("average_splits: no results to average");
  const EvalResult& f = results[0];
  for (const auto& r : results) {
    if (r.dataset != f.dataset)
      throw UsageError("average_splits: results of different data sets ('" + f.dataset + "' and '" + r.dataset + "')");
    if (r.pck.threshold != f.pck.threshold || r.curve.size() != f.curve.size())
      throw UsageError("average_splits: results use different PCK thresholds");
    for (std::size_t k = 0; k < r.curve.size(); ++k)
      if (r.curve[k].first != f.curve[k].first)
        throw UsageError("average_splits: results use different PCK curve thresholds");
  }
  EvalResult out;
  out.dataset = f.dataset;
  out.split = "all";
  std::vector<const PckSummary*> bb, to;
  for (const auto& r : results) {
    out.videos += r.videos;
    out.frames += r.frames;
    bb.push_back(&r.pck);
    to.push_back(&r.pck_torso);
  }
  out.pck = average_summaries(bb);
  out.pck_torso = average_summaries(to);
  for (std::size_t k = 0; k < f.curve_full.size(); ++k) {
    std::vector<const PckSummary*> cs;
    for (const auto& r : results)
      if (k < r.curve_full.size()) cs.push_back(&r.curve_full[k]);
    out.curve_full.push_back(average_summaries(cs));
  }
  for (std::size_t k = 0; k < f.curve.size(); ++k) {
    std::vector<double> v;
    for (const auto& r : results) v.push_back(r.curve[k].second);
    out.curve.emplace_back(f.curve[k].first, nan_mean(v));
  }
  // Per action: average over the splits where the action has data.
  std::map<std::string, std::vector<const ActionResult*>> by_action;
  for (const auto& r : results)
    for (const auto& a : r.per_action) by_action[a.action].push_back(&a);
  for (const auto& kv : by_action) {
    ActionResult a;
    a.action = kv.first;
    std::vector<const PckSummary*> ss;
    for (const auto* x : kv.second) {
      a.videos += x->videos;
      a.frames += x->frames;
      ss.push_back(&x->pck);
    }
    a.pck = average_summaries(ss);
    out.per_action.push_back(std::move(a));
  }
  // PCK by frame index: average over the splits, like every other summary.
  for (std::size_t b = 0; b < f.by_frame.size(); ++b) {
    std::vector<const PckSummary*> ss;
    for (const auto& r : results)
      if (b < r.by_frame.size()) ss.push_back(&r.by_frame[b].pck);
    FrameBucket fb = f.by_frame[b];
    fb.pck = average_summaries(ss);
    out.by_frame.push_back(std::move(fb));
  }
  // Smoothness: mean of the per-split values.
  std::vector<const SmoothnessResult*> smoothness;
  for (const auto& r : results) smoothness.push_back(&r.smoothness);
  out.smoothness = average_smoothness(smoothness);
  std::vector<const BoxDriftResult*> drift;
  for (const auto& r : results)
    if (r.box_drift.measured()) drift.push_back(&r.box_drift);
  if (!drift.empty()) out.box_drift = average_box_drift(drift);
  return out;
}

}  // namespace dkd
