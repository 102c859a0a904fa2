// dkd_infer --bench's pieces: the timed rows (with the batched row and the
// multiply-adds), the operator profile of a step, and the export for the
// PyTorch peer of the step (tools/compare_dkd_step.py).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "common.h"
#include "dkd/infer/bench.h"
#include "dkd/models/factory.h"
#include "dkd/models/weights.h"

namespace fs = std::filesystem;

namespace {

dkd::BenchOptions quick_options() {
  dkd::BenchOptions o;
  o.frames = 3;
  o.warmup = 1;
  return o;
}

TEST(InferBench, TimesEveryRowAndCountsTheMultiplyAdds) {
  auto config = dkd::test::tiny_config();
  auto options = quick_options();
  options.streams = 3;
  const dkd::BenchResult r = dkd::bench_tracker(config, options);
  for (const bool folded : {false, true}) {
    EXPECT_GT(r.row("dkd_track", folded).median_ms, 0.0);
    EXPECT_GT(r.row("initializer", folded).median_ms, 0.0);
  }
  EXPECT_GT(r.row("dkd_track_streams", true).median_ms, 0.0);
  EXPECT_EQ(r.streams, 3);
  // A later DKD frame does fewer multiply-adds than the per-frame network.
  EXPECT_GT(r.gmacs_track, 0.0);
  EXPECT_GT(r.gmacs_initializer, r.gmacs_track);
  EXPECT_GT(r.conv_gflops, 0.0);
  const std::string text = dkd::format_bench(r);
  EXPECT_NE(text.find("3 people in one batch"), std::string::npos) << text;
  EXPECT_NE(text.find("GMACs per frame"), std::string::npos) << text;
  EXPECT_THROW(r.row("no_such_row", true), std::exception);
}

TEST(InferBench, ProfileNamesThePartsOfTheStep) {
  auto config = dkd::test::tiny_config();
  const std::string text = dkd::profile_tracker(config, quick_options());
  for (const char* part : {"| crop |", "| encoder |", "| distillator |", "| matching |", "| decode |"})
    EXPECT_NE(text.find(part), std::string::npos) << part << "\n" << text;
  EXPECT_NE(text.find("initializer on every frame"), std::string::npos);
}

TEST(InferBench, ExportWritesTheModelTheFrameAndEachStep) {
  const fs::path dir = dkd::test::fresh_dir("bench_export");
  auto config = dkd::test::tiny_config();
  dkd::export_tracker_step(config, quick_options(), dir.string(), /*steps=*/2);
  ASSERT_TRUE(fs::is_regular_file(dir / "frame.png"));
  // The state_dict holds every tensor of the model, under the model's names.
  std::set<std::string> stored;
  for (const auto& [name, tensor] : dkd::read_state_dict((dir / "model.pt").string())) stored.insert(name);
  torch::manual_seed(config.runtime.seed);
  const auto model = dkd::make_dkd_model(config);
  const auto names = model->named_parameters();
  ASSERT_FALSE(names.is_empty());
  for (const auto& p : names) EXPECT_EQ(stored.count(p.key()), 1u) << p.key();
  std::ifstream f(dir / "step.json");
  const auto j = nlohmann::json::parse(f);
  ASSERT_EQ(j["frames"].size(), 3u);  // start() and two track() calls
  for (const auto& frame : j["frames"]) {
    EXPECT_EQ(frame["crop"].size(), 6u);
    EXPECT_EQ(frame["keypoints"].size(), static_cast<std::size_t>(config.model.num_joints));
  }
  EXPECT_EQ(j["num_joints"], config.model.num_joints);
  EXPECT_EQ(j["distillator"]["kernel_size"], config.model.distillator.kernel_size);
  EXPECT_THROW(dkd::export_tracker_step(config, quick_options(), dir.string(), 0), std::exception);
  fs::remove_all(dir);
}

}  // namespace
