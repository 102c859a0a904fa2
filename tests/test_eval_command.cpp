// dkd_eval's commands as library functions (eval/eval_command.h): the speed
// benchmark's tables and JSON (what they contain and how the ratios relate, not
// how fast anything is).
#include "dkd/eval/eval_command.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "common.h"
#include "dkd/eval/complexity.h"
#include "dkd/util/runtime.h"

namespace dkd {
namespace {

Config bench_config(int batch_videos) {
  Config c = test::tiny_config();
  c.runtime.threads = 1;
  c.eval.speed_frames = 3;
  c.eval.warmup_frames = 1;
  c.eval.batch_videos = batch_videos;
  return c;
}

TEST(EvalCommand, BenchReportsEachModelAtBatchOneAndWithTheEvaluationsStreams) {
  torch::manual_seed(0);
  const Config c = bench_config(3);
  const std::string dir = test::per_test_dir("eval_command");
  ASSERT_EQ(run_bench(c, dir + "/bench.json", dir + "/bench.md"), 0);
  const auto j = nlohmann::json::parse(read_file(dir + "/bench.json"));
  const ComplexityReport complexity = measure_complexity(c);

  const std::vector<std::string> names = {"initializer", "baseline", "DKD (later frames)"};
  for (const auto* rows : {&j.at("rows"), &j.at("streams").at("rows")}) {
    ASSERT_EQ(rows->size(), names.size());
    const double large_ms = (*rows)[0].at("ms_per_frame").get<double>();
    for (std::size_t i = 0; i < names.size(); ++i) {
      const auto& r = (*rows)[i];
      EXPECT_EQ(r.at("name"), names[i]);
      const double ms = r.at("ms_per_frame").get<double>();
      ASSERT_TRUE(std::isfinite(ms) && ms > 0.0) << names[i];
      // Every ratio is to the initializer of the same table.
      EXPECT_NEAR(r.at("time_ratio_to_initializer").get<double>(), ms / large_ms, 1e-9) << names[i];
      EXPECT_NEAR(r.at("achieved_gflops").get<double>(), 2.0 * r.at("gmacs_per_frame").get<double>() / (ms * 1e-3),
                  1e-6 * r.at("achieved_gflops").get<double>());
    }
    // The GMACs are the network's, the same at any batch.
    EXPECT_NEAR((*rows)[0].at("gmacs_per_frame").get<double>(), complexity.component("initializer").gmacs(), 1e-12);
    EXPECT_NEAR((*rows)[2].at("gmacs_per_frame").get<double>(), complexity.macs_per_frame * 1e-9, 1e-12);
  }
  for (const auto& r : j.at("rows")) EXPECT_EQ(r.at("streams"), 1);
  EXPECT_EQ(j.at("streams").at("count"), 3);
  for (const auto& r : j.at("streams").at("rows")) EXPECT_EQ(r.at("streams"), 3);

  const std::string md = read_file(dir + "/bench.md");
  EXPECT_NE(md.find("batch 1, median of 3 frames"), std::string::npos) << md;
  EXPECT_NE(md.find("3 videos stepping together (eval.batch_videos"), std::string::npos) << md;
}

TEST(EvalCommand, BenchWithOneVideoPerBatchHasNoStreamsTable) {
  torch::manual_seed(0);
  const std::string dir = test::per_test_dir("eval_command");
  ASSERT_EQ(run_bench(bench_config(1), dir + "/bench.json", dir + "/bench.md"), 0);
  const auto j = nlohmann::json::parse(read_file(dir + "/bench.json"));
  EXPECT_EQ(j.at("rows").size(), 3u);
  EXPECT_FALSE(j.contains("streams"));
  EXPECT_EQ(read_file(dir + "/bench.md").find("stepping together"), std::string::npos);
}

}  // namespace
}  // namespace dkd
