#pragma once
// Several runs of one configuration that differ only in runtime.seed, reduced
// to mean and spread (dkd_eval --seeds; tools/benchmark.sh builds
// docs/results.md with it).
//
//   dkd_eval --seeds large=s1.json,s2.json,s3.json dkd=d1.json,d2.json,d3.json --md seeds.md
//
// Each input is a `dkd_eval --json` report. Every metric is given as
// mean ± sample standard deviation over the runs. A row is compared with the
// first row (the reference) by the difference of means; a difference is called
// "no difference" when it is not larger than the sum of the two rows' standard
// deviations, so a gap inside the seed spread is never reported as a finding.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dkd {

struct SeedStat {
  double mean = 0.0;
  double sd = 0.0;  ///< sample standard deviation (n - 1); NaN for a single run
  int n = 0;
};

/// Mean and sample standard deviation of the finite values (n = their count).
SeedStat seed_stat(const std::vector<double>& values);

/// The metric keys of a SeedRow, in table order.
const std::vector<std::string>& seed_metric_keys();

struct SeedRow {
  std::string name;
  std::vector<std::string> sources;       ///< the report files
  std::map<std::string, SeedStat> stats;  ///< by seed_metric_keys()
};

/// Reads the metrics of each report (`docs[i]` came from `origins[i]`; DataError
/// naming it when a required field is missing).
SeedRow seed_row_from_reports(const std::string& name, const std::vector<nlohmann::json>& docs,
                              const std::vector<std::string>& origins);

/// "12.3 ± 0.4" (or "12.3" for one run).
std::string format_seed_stat(const SeedStat& s, int decimals = 1);

/// The difference of row `b` against the reference `a` on `key` and its
/// verdict: "no difference" when |mean_b - mean_a| <= sd_a + sd_b, else "higher"/"lower".
std::string seed_verdict(const SeedStat& a, const SeedStat& b);

/// Markdown (or plain) tables: PCK, torso PCK, PCK@0.05/0.1, acceleration ratio
/// and GMACs; PCK by frame index; differences to the first row with verdicts.
std::string format_seed_tables(const std::vector<SeedRow>& rows, bool markdown = true);

/// JSON with every row's sources and statistics.
nlohmann::json seed_rows_to_json(const std::vector<SeedRow>& rows);

}  // namespace dkd
