#include "dkd/eval/report.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>

#include "dkd/eval/numbers.h"
#include "dkd/util/error.h"

namespace dkd {

using nlohmann::json;

namespace {

json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

double sum_of(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return s;
}

std::string fmt_g(double v) {
  if (!std::isfinite(v)) return "-";
  std::ostringstream os;
  os << v;
  return os.str();
}

/// Text or Markdown table. First column left-aligned, the others right-aligned.
/// In text mode a "|" is drawn before column `bar` (0 = none).
std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                  bool markdown, std::size_t bar = 0) {
  std::ostringstream os;
  const std::size_t n = header.size();
  if (markdown) {
    auto line = [&](const std::vector<std::string>& cells) {
      os << "|";
      for (std::size_t i = 0; i < n; ++i) os << " " << (i < cells.size() ? cells[i] : "") << " |";
      os << "\n";
    };
    line(header);
    os << "|";
    for (std::size_t i = 0; i < n; ++i) os << (i == 0 ? ":---|" : "---:|");
    os << "\n";
    for (const auto& r : rows) line(r);
    return os.str();
  }
  std::vector<std::size_t> w(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    w[i] = header[i].size();
    for (const auto& r : rows)
      if (i < r.size()) w[i] = std::max(w[i], r[i].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
      const std::string c = i < cells.size() ? cells[i] : "";
      if (i > 0) s += (bar != 0 && i == bar) ? " | " : "  ";
      const std::string pad(w[i] - c.size(), ' ');
      s += i == 0 ? c + pad : pad + c;
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    os << s << "\n";
  };
  line(header);
  std::size_t total = 0;
  for (std::size_t i = 0; i < n; ++i) total += w[i] + (i > 0 ? 2 : 0) + (bar != 0 && i == bar ? 1 : 0);
  os << std::string(total, '-') << "\n";
  for (const auto& r : rows) line(r);
  return os.str();
}

const std::vector<std::string> kMeans = {"mean_joints", "mean_columns", "pooled"};

double mean_of(const PckSummary& s, const std::string& mean) {
  if (mean == "mean_joints") return s.mean_joints;
  if (mean == "mean_columns") return s.mean_columns;
  if (mean == "pooled") return s.pooled;
  throw UsageError("unknown PCK mean '" + mean + "' (expected mean_joints, mean_columns or pooled)");
}

std::vector<std::string> pck_cells(const PckSummary& s) {
  std::vector<std::string> c;
  for (double v : s.columns) c.push_back(fixed(v, 1));
  c.push_back(fixed(s.mean_joints, 1));
  c.push_back(fixed(s.mean_columns, 1));
  c.push_back(fixed(s.pooled, 1));
  return c;
}

std::vector<std::string> column_names_or_default(const PckSummary& s) {
  if (!s.column_names.empty()) return s.column_names;
  return {"Head", "Sho", "Elb", "Wri", "Hip", "Knee", "Ank"};
}

std::string heading(const std::string& text, bool markdown) { return markdown ? "### " + text + "\n\n" : text + "\n"; }

std::string norm_description(const EvalResult& r) {
  std::string torso = "shoulder to opposite hip";
  std::string valid = "visible joints only";
  try {
    const DatasetSpec& spec = dataset_spec(r.dataset);
    const Skeleton& sk = spec.skeleton;
    torso = sk.joint_names[sk.torso.first] + " - " + sk.joint_names[sk.torso.second];
    valid = pck_joints_text(spec.pck_joints);
  } catch (const Error&) {}
  return "bbox = max(width, height) of the ground-truth box; torso = |" + torso +
         "| (predicted pair when under 1 px); " + valid + "; correct if distance <= threshold * norm";
}

std::string flat_json_lines(const json& j, const std::string& prefix, bool markdown) {
  std::ostringstream os;
  if (j.is_object()) {
    for (const auto& it : j.items())
      os << flat_json_lines(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), markdown);
    return os.str();
  }
  std::string v;
  if (j.is_number_float())
    v = fmt_g(j.get<double>());
  else if (j.is_string())
    v = j.get<std::string>();
  else
    v = j.dump();
  os << (markdown ? "- " : "  ") << prefix << ": " << v << "\n";
  return os.str();
}

}  // namespace

json speed_to_json(const SpeedInfo& s) {
  return json{{"ms_first_frame", num(s.ms_first_frame)},
              {"ms_per_frame", num(s.ms_per_frame)},
              {"fps", num(s.fps)},
              {"streams", s.streams},
              {"threads", s.threads},
              {"device", s.device}};
}

json pck_to_json(const PckSummary& s) {
  json per_joint = json::object(), columns = json::object();
  for (std::size_t j = 0; j < s.joint_names.size() && j < s.per_joint.size(); ++j)
    per_joint[s.joint_names[j]] = num(s.per_joint[j]);
  for (std::size_t c = 0; c < s.column_names.size() && c < s.columns.size(); ++c)
    columns[s.column_names[c]] = num(s.columns[c]);
  return json{{"threshold", s.threshold},
              {"norm", s.norm},
              {"per_joint", per_joint},
              {"columns", columns},
              {"mean_joints", num(s.mean_joints)},
              {"mean_columns", num(s.mean_columns)},
              {"pooled", num(s.pooled)}};
}

json result_to_json(const EvalResult& r, const json& complexity, const json& speed) {
  json j;
  j["dataset"] = r.dataset;
  j["split"] = r.split;
  j["videos"] = static_cast<int64_t>(std::llround(r.videos));
  j["frames"] = static_cast<int64_t>(std::llround(r.frames));
  j["pck"] = pck_to_json(r.pck);
  j["pck_torso"] = pck_to_json(r.pck_torso);
  json curve = json::array();
  for (const auto& c : r.curve) curve.push_back(json::array({c.first, num(c.second)}));
  j["curve"] = curve;
  j["curve_mean"] = "mean_joints";
  json pa = json::object();
  for (const auto& a : r.per_action) {
    json x = pck_to_json(a.pck);
    x.erase("per_joint");
    x.erase("norm");
    x.erase("threshold");
    x["videos"] = static_cast<int64_t>(std::llround(a.videos));
    x["frames"] = static_cast<int64_t>(std::llround(a.frames));
    pa[a.action] = x;
  }
  j["per_action"] = pa;
  const SmoothnessResult& s = r.smoothness;
  json cols = json::object();
  for (std::size_t c = 0; c < s.column_names.size(); ++c)
    cols[s.column_names[c]] = json{{"pred_px", num(s.column_pred_px[c])}, {"gt_px", num(s.column_gt_px[c])}};
  j["smoothness"] = json{{"unit",
                          "mean keypoint acceleration |p(t+1) - 2p(t) + p(t-1)|, px/frame^2; *_box_pct: "
                          "percent of the middle frame's box size max(w, h)"},
                         {"pred_px", num(s.pred_px)},
                         {"gt_px", num(s.gt_px)},
                         {"pred_box_pct", num(s.pred_box)},
                         {"gt_box_pct", num(s.gt_box)},
                         {"ratio", num(s.ratio())},
                         {"triples", static_cast<int64_t>(std::llround(s.triples))},
                         {"per_column", cols}};
  json by_frame = json::array();
  for (const auto& b : r.by_frame)
    by_frame.push_back(json{{"frames", b.label()},
                            {"first", b.first},
                            {"last", b.last == 0 ? json(nullptr) : json(b.last)},
                            {"mean_joints", num(b.pck.mean_joints)},
                            {"pooled", num(b.pck.pooled)},
                            {"valid", static_cast<int64_t>(std::llround(sum_of(b.pck.valid)))}});
  j["pck_by_frame"] = by_frame;
  if (r.box_drift.measured()) j["box_drift"] = box_drift_to_json(r.box_drift);
  if (!complexity.is_null()) j["complexity"] = complexity;
  if (!speed.is_null()) j["speed"] = speed;
  return j;
}

std::string format_pck_table(const EvalResult& r, bool markdown, const std::string& model) {
  std::ostringstream os;
  os << heading("PCK@" + fmt_g(r.pck.threshold) + " on " + r.dataset + " (split " + r.split +
                    "): " + fixed(r.videos, 0) + " videos, " + fixed(r.frames, 0) + " frames" +
                    (r.split == "all" ? " (mean of the per-split PCKs)" : ""),
                markdown);
  std::vector<std::string> header = {model.empty() ? "norm" : "model (norm)"};
  for (const auto& c : column_names_or_default(r.pck)) header.push_back(c);
  for (const auto& m : kMeans) header.push_back(m);
  std::vector<std::vector<std::string>> rows;
  for (const PckSummary* s : {&r.pck, &r.pck_torso}) {
    std::vector<std::string> row = {model.empty() ? s->norm : model + " (" + s->norm + ")"};
    for (auto& c : pck_cells(*s)) row.push_back(c);
    rows.push_back(row);
  }
  os << table(header, rows, markdown, 8);
  os << (markdown ? "\n" : "") << "Norm: " << norm_description(r) << ".\n";
  os << "Means: mean_joints = mean of the per-joint PCK over the table's "
     << skeleton_for(r.dataset).table_joints_text() << "; mean_columns = mean of the "
     << column_names_or_default(r.pck).size() << " columns; pooled = hits / valid over the table's joints.\n";
  return os.str();
}

std::string format_per_action_table(const EvalResult& r, bool markdown) {
  std::ostringstream os;
  os << heading("PCK@" + fmt_g(r.pck.threshold) + " (bbox) per action", markdown);
  std::vector<std::string> header = {"action", "videos", "frames"};
  for (const auto& c : column_names_or_default(r.pck)) header.push_back(c);
  for (const auto& m : kMeans) header.push_back(m);
  std::vector<std::vector<std::string>> rows;
  for (const auto& a : r.per_action) {
    std::vector<std::string> row = {a.action, fixed(a.videos, 0), fixed(a.frames, 0)};
    for (auto& c : pck_cells(a.pck)) row.push_back(c);
    rows.push_back(row);
  }
  os << table(header, rows, markdown, 10);
  return os.str();
}

std::string format_smoothness_table(const EvalResult& r, bool markdown) {
  const SmoothnessResult& s = r.smoothness;
  std::ostringstream os;
  os << heading(
      "Temporal smoothness: mean keypoint acceleration |p(t+1) - 2p(t) + p(t-1)| "
      "(px/frame^2; all = table joints; % box = percent of max(w, h) of the box)",
      markdown);
  std::vector<std::string> header = {"keypoints"};
  for (const auto& c : s.column_names) header.push_back(c);
  header.push_back("all px");
  header.push_back("all % box");
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> pr = {"predictions"}, gr = {"ground truth"};
  for (std::size_t c = 0; c < s.column_names.size(); ++c) {
    pr.push_back(fixed(s.column_pred_px[c], 2));
    gr.push_back(fixed(s.column_gt_px[c], 2));
  }
  pr.push_back(fixed(s.pred_px, 2));
  gr.push_back(fixed(s.gt_px, 2));
  pr.push_back(fixed(s.pred_box, 2));
  gr.push_back(fixed(s.gt_box, 2));
  rows.push_back(pr);
  rows.push_back(gr);
  os << table(header, rows, markdown, s.column_names.size() + 1);
  os << (markdown ? "\n" : "") << "Ratio predictions / ground truth: " << fixed(s.ratio(), 2) << " over "
     << fixed(s.triples, 0) << " joint triples.\n";
  return os.str();
}

std::string format_frame_table(const EvalResult& r, bool markdown) {
  std::ostringstream os;
  os << heading("PCK by frame index (bbox norm, mean_joints; frame 1 = the first frame of each video)", markdown);
  std::vector<std::string> header = {"frames"}, row = {"PCK"}, count = {"valid joints"};
  for (const auto& b : r.by_frame) {
    header.push_back(b.label());
    row.push_back(fixed(b.pck.mean_joints, 1));
    count.push_back(fixed(sum_of(b.pck.valid), 0));
  }
  os << table(header, {row, count}, markdown);
  return os.str();
}

json box_drift_to_json(const BoxDriftResult& d) {
  const auto stats = [](const BoxDriftStats& b) {
    return json{{"frames", static_cast<int64_t>(std::llround(b.frames))},
                {"center_offset_pct", num(b.center_offset)},
                {"scale_ratio", num(b.scale_ratio)},
                {"scale_error_pct", num(b.scale_error)},
                {"joints_in_crop_pct", num(b.joints_in_crop)}};
  };
  json buckets = json::array(), frames = json::array();
  for (std::size_t b = 0; b < d.buckets.size(); ++b) {
    json j = stats(d.buckets[b]);
    j["frames_label"] = d.labels[b];
    buckets.push_back(j);
  }
  for (const auto& f : d.by_frame) frames.push_back(stats(f));
  return json{{"unit",
               "crop of the tracked box against the crop of the GT box: centre offset in percent of the GT box "
               "size max(w, h); scale = tracked / GT crop side, geometric mean; scale_error = exp(mean |log "
               "scale|) - 1, percent; joints_in_crop = percent of valid GT joints inside the crop"},
              {"all_after_first", stats(d.all)},
              {"by_bucket", buckets},
              {"by_frame", frames}};
}

std::string format_box_drift_table(const EvalResult& r, bool markdown) {
  const BoxDriftResult& d = r.box_drift;
  std::ostringstream os;
  os << heading(
      "Box drift (eval.boxes = tracked): each frame's crop against the crop of its ground-truth box; offset in % of "
      "the GT box size, scale = tracked / GT crop side (geometric mean), |scale error| = exp(mean |log|) - 1",
      markdown);
  std::vector<std::string> header = {"frames"}, offset = {"centre offset %"}, scale = {"scale"},
                           error = {"|scale error| %"}, inside = {"GT joints in crop %"};
  const auto add = [&](const std::string& label, const BoxDriftStats& b) {
    header.push_back(label);
    offset.push_back(fixed(b.center_offset, 1));
    scale.push_back(fixed(b.scale_ratio, 3));
    error.push_back(fixed(b.scale_error, 1));
    inside.push_back(fixed(b.joints_in_crop, 1));
  };
  for (std::size_t b = 0; b < d.buckets.size(); ++b) add(d.labels[b], d.buckets[b]);
  add("all after 1", d.all);
  os << table(header, {offset, scale, error, inside}, markdown);
  return os.str();
}

std::string format_curve_table(const EvalResult& r, bool markdown) {
  std::ostringstream os;
  os << heading("PCK curve (bbox norm, mean_joints)", markdown);
  std::vector<std::string> header = {"threshold"}, row = {"PCK"};
  for (const auto& c : r.curve) {
    header.push_back(fixed(c.first, 2));
    row.push_back(fixed(c.second, 1));
  }
  os << table(header, {row}, markdown);
  return os.str();
}

std::string format_report(const EvalResult& r, bool markdown, const json& complexity, const json& speed,
                          const std::string& model) {
  const std::string sep = markdown ? "\n" : "\n";
  std::ostringstream os;
  os << format_pck_table(r, markdown, model) << sep << format_curve_table(r, markdown) << sep
     << format_frame_table(r, markdown) << sep;
  if (r.box_drift.measured()) os << format_box_drift_table(r, markdown) << sep;
  os << format_per_action_table(r, markdown) << sep << format_smoothness_table(r, markdown);
  if (!complexity.is_null()) {
    os << sep << heading("Complexity (1 MAC = 1 FLOP, as pose papers count)", markdown);
    if (markdown) os << "\n";
    os << flat_json_lines(complexity, "", markdown);
  }
  if (!speed.is_null()) {
    os << sep << heading("Speed", markdown);
    if (markdown) os << "\n";
    os << flat_json_lines(speed, "", markdown);
  }
  return os.str();
}

void ComparisonRow::set_torso(const PckSummary& torso) {
  torso_mean_joints = torso.mean_joints;
  torso_mean_columns = torso.mean_columns;
  torso_pooled = torso.pooled;
}

double ComparisonRow::torso_mean(const std::string& mean) const {
  if (mean == "mean_joints") return torso_mean_joints;
  if (mean == "mean_columns") return torso_mean_columns;
  if (mean == "pooled") return torso_pooled;
  throw UsageError("unknown PCK mean '" + mean + "' (expected mean_joints, mean_columns or pooled)");
}

std::string format_comparison(const std::vector<ComparisonRow>& rows, bool markdown, const std::string& mean) {
  std::ostringstream os;
  double thr = rows.empty() ? 0.2 : rows[0].pck.threshold;
  const std::string norm = rows.empty() ? "bbox" : rows[0].pck.norm;
  os << heading(
      "PCK@" + fmt_g(thr) + " (" + norm + ") comparison; mean = " + mean + "; GMACs per frame (1 MAC = 1 FLOP)",
      markdown);
  std::vector<std::string> header = {"model"};
  for (const auto& c : column_names_or_default(rows.empty() ? PckSummary{} : rows[0].pck)) header.push_back(c);
  header.insert(header.end(), {mean, "torso " + mean, "accel/GT", "GMACs/frame", "params (M)", "ms/frame"});
  std::vector<std::vector<std::string>> body;
  for (const auto& r : rows) {
    std::vector<std::string> row = {r.name};
    for (double v : r.pck.columns) row.push_back(fixed(v, 1));
    row.push_back(fixed(mean_of(r.pck, mean), 1));
    row.push_back(fixed(r.torso_mean(mean), 1));
    row.push_back(fixed(r.accel_ratio, 2));
    row.push_back(fixed(r.gmacs_per_frame, 3));
    row.push_back(fixed(r.params / 1e6, 2));
    row.push_back(fixed(r.ms_per_frame, 2));
    body.push_back(row);
  }
  os << table(header, body, markdown, 8);
  if (rows.size() > 1) {
    // The questions a comparison is for: how close, at what cost.
    const ComparisonRow& ref = rows.front();
    os << "\n"
       << heading("relative to " + ref.name + " (PCK difference in points; x = times fewer than " + ref.name + ")",
                  markdown);
    std::vector<std::vector<std::string>> rel;
    const auto signed_fmt = [](double v) {
      if (!std::isfinite(v)) return std::string("-");
      return (v >= 0 ? "+" : "") + fixed(v, 1);
    };
    const auto times = [](double a, double b) {
      return std::isfinite(a) && std::isfinite(b) && b > 0 ? fixed(a / b, 2) + "x" : std::string("-");
    };
    for (std::size_t i = 1; i < rows.size(); ++i) {
      const ComparisonRow& r = rows[i];
      rel.push_back({r.name, signed_fmt(mean_of(r.pck, mean) - mean_of(ref.pck, mean)),
                     signed_fmt(r.torso_mean(mean) - ref.torso_mean(mean)),
                     times(ref.gmacs_per_frame, r.gmacs_per_frame), times(ref.ms_per_frame, r.ms_per_frame)});
    }
    os << table({"model", "d " + mean, "d torso", "GMACs", "ms/frame"}, rel, markdown, 8);
  }
  return os.str();
}

ComparisonRow comparison_row_from_json(const std::string& name, const json& doc, const std::string& origin) {
  ComparisonRow row;
  row.name = name;
  auto number = [](const json& v) {
    return v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN();
  };
  if (!doc.is_object() || !doc.contains("pck") || !doc["pck"].is_object())
    throw DataError(origin, "no \"pck\" object (expected the output of dkd_eval --json)");
  const json& p = doc["pck"];
  if (!p.contains("columns") || !p["columns"].is_object()) throw DataError(origin, "\"pck\" has no \"columns\" object");
  row.pck.threshold = p.contains("threshold") ? number(p["threshold"]) : 0.2;
  row.pck.norm = p.value("norm", std::string("bbox"));
  for (const char* c : {"Head", "Sho", "Elb", "Wri", "Hip", "Knee", "Ank"}) {
    if (!p["columns"].contains(c)) throw DataError(origin, std::string("\"pck.columns\" has no \"") + c + "\"");
    row.pck.column_names.push_back(c);
    row.pck.columns.push_back(number(p["columns"][c]));
  }
  auto get = [&](const json& obj, const char* key) {
    return obj.is_object() && obj.contains(key) ? number(obj[key]) : std::numeric_limits<double>::quiet_NaN();
  };
  row.pck.mean_joints = get(p, "mean_joints");
  row.pck.mean_columns = get(p, "mean_columns");
  row.pck.pooled = get(p, "pooled");
  if (doc.contains("complexity")) {
    row.gmacs_per_frame = get(doc["complexity"], "gmacs_per_frame");
    row.params = get(doc["complexity"], "params");
  }
  if (doc.contains("speed")) row.ms_per_frame = get(doc["speed"], "ms_per_frame");
  if (doc.contains("pck_torso")) {
    const json& t = doc["pck_torso"];
    row.torso_mean_joints = get(t, "mean_joints");
    row.torso_mean_columns = get(t, "mean_columns");
    row.torso_pooled = get(t, "pooled");
  }
  if (doc.contains("smoothness")) row.accel_ratio = get(doc["smoothness"], "ratio");
  return row;
}

}  // namespace dkd
