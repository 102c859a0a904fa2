// Seed summaries (dkd_eval --seeds): mean and sample standard deviation, and
// "no difference" for gaps inside the spread.
#include <gtest/gtest.h>

#include <cmath>

#include "dkd/eval/seed_table.h"
#include "dkd/util/error.h"

using namespace dkd;

namespace {

nlohmann::json report(double pck, double p05, double ratio, double frame1, double frame2) {
  return {{"pck", {{"mean_joints", pck}}},
          {"pck_torso", {{"mean_joints", pck - 30}}},
          {"curve", {{0.05, p05}, {0.1, p05 + 20}, {0.2, pck}}},
          {"smoothness", {{"ratio", ratio}}},
          {"complexity", {{"gmacs_per_frame", 0.01}}},
          {"pck_by_frame", {{{"frames", "1"}, {"mean_joints", frame1}}, {{"frames", "2-4"}, {"mean_joints", frame2}}}}};
}

}  // namespace

TEST(SeedTable, MeanAndSampleStandardDeviation) {
  const SeedStat s = seed_stat({1.0, 2.0, 6.0, std::nan("")});
  EXPECT_EQ(s.n, 3);
  EXPECT_DOUBLE_EQ(s.mean, 3.0);
  EXPECT_DOUBLE_EQ(s.sd, std::sqrt(7.0));  // ((4 + 1 + 9) / 2)
  EXPECT_TRUE(std::isnan(seed_stat({5.0}).sd));
  EXPECT_EQ(format_seed_stat(seed_stat({1.0, 2.0, 6.0})), "3.0 ± 2.6");
  EXPECT_EQ(format_seed_stat(seed_stat({5.0})), "5.0");
}

TEST(SeedTable, RowsFromReportsAndVerdicts) {
  const SeedRow a = seed_row_from_reports("large", {report(90, 40, 2.0, 95, 89), report(92, 42, 2.2, 96, 91)},
                                          {"a1.json", "a2.json"});
  const SeedRow b = seed_row_from_reports("dkd", {report(91, 50, 1.5, 95, 90), report(91.6, 52, 1.6, 96, 90)},
                                          {"b1.json", "b2.json"});
  EXPECT_DOUBLE_EQ(a.stats.at("pck").mean, 91.0);
  EXPECT_DOUBLE_EQ(a.stats.at("pck@0.05").mean, 41.0);
  EXPECT_DOUBLE_EQ(a.stats.at("frames 2-4").mean, 90.0);
  EXPECT_EQ(a.stats.at("frames 41+").n, 0);  // not in these reports
  // 91.3 vs 91.0 with spreads 1.41 and 0.42: inside the spread.
  EXPECT_EQ(seed_verdict(a.stats.at("pck"), b.stats.at("pck")), "no difference");
  EXPECT_EQ(seed_verdict(a.stats.at("pck@0.05"), b.stats.at("pck@0.05")), "higher");
  EXPECT_EQ(seed_verdict(a.stats.at("accel_ratio"), b.stats.at("accel_ratio")), "lower");
  const std::string md = format_seed_tables({a, b});
  EXPECT_NE(md.find("| large | 2 | 91.0 ± 1.4 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| dkd | +0.3 | no difference |"), std::string::npos) << md;
  EXPECT_EQ(seed_rows_to_json({a, b})["dkd"]["stats"]["pck"]["n"], 2);
  EXPECT_THROW(seed_row_from_reports("x", {nlohmann::json{{"videos", 3}}}, {"bad.json"}), DataError);
}
