#include "dkd/eval/seed_table.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "dkd/eval/numbers.h"
#include "dkd/util/error.h"

namespace dkd {

// Named (not anonymous): the unity build merges this file with others.
namespace seed_table_detail {

constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

double number_at(const nlohmann::json& doc, const std::vector<std::string>& path) {
  const nlohmann::json* v = &doc;
  for (const auto& key : path) {
    if (!v->is_object() || !v->contains(key)) return kNoValue;
    v = &(*v)[key];
  }
  return v->is_number() ? v->get<double>() : kNoValue;
}

/// PCK of the curve point at `threshold` (the curve is a list of [threshold, PCK]).
double curve_at(const nlohmann::json& doc, double threshold) {
  if (!doc.contains("curve") || !doc["curve"].is_array()) return kNoValue;
  for (const auto& p : doc["curve"])
    if (p.is_array() && p.size() == 2 && p[0].is_number() && std::abs(p[0].get<double>() - threshold) < 1e-9)
      return p[1].is_number() ? p[1].get<double>() : kNoValue;
  return kNoValue;
}

double frame_bucket(const nlohmann::json& doc, const std::string& label) {
  if (!doc.contains("pck_by_frame") || !doc["pck_by_frame"].is_array()) return kNoValue;
  for (const auto& b : doc["pck_by_frame"])
    if (b.value("frames", std::string()) == label) return number_at(b, {"mean_joints"});
  return kNoValue;
}

const std::vector<std::string>& frame_labels() {
  static const std::vector<std::string> labels = {"1", "2-4", "5-10", "11-20", "21-40", "41+"};
  return labels;
}

std::string row_text(const std::vector<std::string>& cells, bool markdown) {
  std::string s = markdown ? "|" : "";
  for (const auto& c : cells) s += markdown ? " " + c + " |" : c + "  ";
  return s + "\n";
}

std::string rule(std::size_t columns) {
  std::string s = "|:---|";
  for (std::size_t i = 1; i < columns; ++i) s += "---:|";
  return s + "\n";
}

}  // namespace seed_table_detail

using namespace seed_table_detail;

SeedStat seed_stat(const std::vector<double>& values) {
  SeedStat s;
  double sum = 0.0;
  for (double v : values)
    if (std::isfinite(v)) {
      sum += v;
      ++s.n;
    }
  if (s.n == 0) return {kNoValue, kNoValue, 0};
  s.mean = sum / s.n;
  if (s.n < 2) {
    s.sd = kNoValue;
    return s;
  }
  double sq = 0.0;
  for (double v : values)
    if (std::isfinite(v)) sq += (v - s.mean) * (v - s.mean);
  s.sd = std::sqrt(sq / (s.n - 1));
  return s;
}

const std::vector<std::string>& seed_metric_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k = {"pck", "pck_torso", "pck@0.05", "pck@0.1", "accel_ratio", "gmacs_per_frame"};
    for (const auto& l : frame_labels()) k.push_back("frames " + l);
    return k;
  }();
  return keys;
}

SeedRow seed_row_from_reports(const std::string& name, const std::vector<nlohmann::json>& docs,
                              const std::vector<std::string>& origins) {
  if (docs.empty()) throw UsageError("--seeds " + name + ": no report files");
  SeedRow row;
  row.name = name;
  row.sources = origins;
  std::map<std::string, std::vector<double>> values;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const auto& d = docs[i];
    const std::string origin = i < origins.size() ? origins[i] : "<report>";
    const double pck = number_at(d, {"pck", "mean_joints"});
    if (!std::isfinite(pck)) throw DataError(origin, "no pck.mean_joints (expected the output of dkd_eval --json)");
    values["pck"].push_back(pck);
    values["pck_torso"].push_back(number_at(d, {"pck_torso", "mean_joints"}));
    values["pck@0.05"].push_back(curve_at(d, 0.05));
    values["pck@0.1"].push_back(curve_at(d, 0.1));
    values["accel_ratio"].push_back(number_at(d, {"smoothness", "ratio"}));
    values["gmacs_per_frame"].push_back(number_at(d, {"complexity", "gmacs_per_frame"}));
    for (const auto& l : frame_labels()) values["frames " + l].push_back(frame_bucket(d, l));
  }
  for (const auto& k : seed_metric_keys()) row.stats[k] = seed_stat(values[k]);
  return row;
}

std::string format_seed_stat(const SeedStat& s, int decimals) {
  if (s.n == 0) return "-";
  if (s.n == 1 || !std::isfinite(s.sd)) return fixed(s.mean, decimals);
  return fixed(s.mean, decimals) + " ± " + fixed(s.sd, decimals);
}

std::string seed_verdict(const SeedStat& a, const SeedStat& b) {
  if (a.n == 0 || b.n == 0) return "-";
  const double d = b.mean - a.mean;
  const double spread = (std::isfinite(a.sd) ? a.sd : 0.0) + (std::isfinite(b.sd) ? b.sd : 0.0);
  if (a.n < 2 || b.n < 2) return d >= 0 ? "higher (one run: not evidence)" : "lower (one run: not evidence)";
  if (std::abs(d) <= spread) return "no difference";
  return d > 0 ? "higher" : "lower";
}

std::string format_seed_tables(const std::vector<SeedRow>& rows, bool markdown) {
  std::ostringstream os;
  const auto heading = [&](const std::string& h) { os << (markdown ? "### " : "") << h << "\n\n"; };
  const auto stat = [](const SeedRow& r, const std::string& k, int d = 1) {
    return format_seed_stat(r.stats.at(k), d);
  };
  heading("Mean ± standard deviation over seeds (PCK in %, bbox norm unless named; mean over the 13 table joints)");
  const std::vector<std::string> head = {"model",   "seeds",    "PCK@0.2",  "torso PCK@0.2",
                                         "PCK@0.1", "PCK@0.05", "accel/GT", "GMACs/frame"};
  os << row_text(head, markdown);
  if (markdown) os << rule(head.size());
  for (const auto& r : rows)
    os << row_text(
        {r.name, std::to_string(r.stats.at("pck").n), stat(r, "pck"), stat(r, "pck_torso"), stat(r, "pck@0.1"),
         stat(r, "pck@0.05"), stat(r, "accel_ratio", 2), format_seed_stat(r.stats.at("gmacs_per_frame"), 3)},
        markdown);
  os << "\n";
  heading("PCK@0.2 by frame index (frame 1 = each video's first frame; for DKD the initializer's)");
  std::vector<std::string> fh = {"model"};
  for (const auto& l : frame_labels()) fh.push_back(l);
  os << row_text(fh, markdown);
  if (markdown) os << rule(fh.size());
  for (const auto& r : rows) {
    std::vector<std::string> cells = {r.name};
    for (const auto& l : frame_labels()) cells.push_back(stat(r, "frames " + l));
    os << row_text(cells, markdown);
  }
  if (rows.size() > 1) {
    os << "\n";
    const SeedRow& ref = rows.front();
    heading("Differences to " + ref.name +
            " (difference of means; \"no difference\" when it is within the sum of both standard deviations)");
    const std::vector<std::string> dh = {"model",   "d PCK@0.2",  "verdict", "d PCK@0.05",
                                         "verdict", "d accel/GT", "verdict"};
    os << row_text(dh, markdown);
    if (markdown) os << rule(dh.size());
    const auto diff = [&](const SeedRow& r, const std::string& k, int d) {
      const double v = r.stats.at(k).mean - ref.stats.at(k).mean;
      return std::isfinite(v) ? (v >= 0 ? "+" : "") + fixed(v, d) : std::string("-");
    };
    for (std::size_t i = 1; i < rows.size(); ++i) {
      const SeedRow& r = rows[i];
      os << row_text({r.name, diff(r, "pck", 1), seed_verdict(ref.stats.at("pck"), r.stats.at("pck")),
                      diff(r, "pck@0.05", 1), seed_verdict(ref.stats.at("pck@0.05"), r.stats.at("pck@0.05")),
                      diff(r, "accel_ratio", 2), seed_verdict(ref.stats.at("accel_ratio"), r.stats.at("accel_ratio"))},
                     markdown);
    }
  }
  return os.str();
}

nlohmann::json seed_rows_to_json(const std::vector<SeedRow>& rows) {
  nlohmann::json out = nlohmann::json::object();
  const auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  for (const auto& r : rows) {
    nlohmann::json j;
    j["sources"] = r.sources;
    for (const auto& [k, s] : r.stats) j["stats"][k] = {{"mean", num(s.mean)}, {"sd", num(s.sd)}, {"n", s.n}};
    out[r.name] = j;
  }
  return out;
}

}  // namespace dkd
