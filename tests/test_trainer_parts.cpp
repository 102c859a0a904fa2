// The trainer's collaborators: StepLogger (running means between metrics
// lines), Checkpointer (pending, good and condemned checkpoints).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common.h"
#include "dkd/dist/process_group.h"
#include "dkd/train/checkpointer.h"
#include "dkd/train/step_logger.h"
#include "dkd/train/work_dir.h"

namespace fs = std::filesystem;

namespace dkd {
namespace {

std::vector<nlohmann::json> read_lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(StepLogger, WritesTheWindowMeansAndStartsANewWindow) {
  const std::string dir = test::fresh_dir("step_logger");
  const std::string path = dir + "/metrics.jsonl";
  MetricsWriter metrics;
  metrics.open(path);
  StepLogger logger("clips_per_s");
  logger.add_step({{"loss_pose", 1.0}, {"d_real", 4.0}}, 8);
  logger.add_step({{"loss_pose", 3.0}}, 8);
  logger.add_data_wait(0.5);
  logger.write(metrics, {{"type", "train"}, {"step", 2}});
  logger.add_step({{"loss_pose", 10.0}}, 8);
  logger.reset();  // a checkpoint: the window restarts
  logger.add_step({{"loss_pose", 5.0}}, 8);
  logger.write(metrics, {{"type", "train"}, {"step", 4}});
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["type"], "train");
  EXPECT_DOUBLE_EQ(lines[0]["loss_pose"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(lines[0]["d_real"].get<double>(), 4.0);  // mean over the steps that had it
  EXPECT_DOUBLE_EQ(lines[0]["data_wait_s"].get<double>(), 0.5);
  EXPECT_TRUE(lines[0].contains("clips_per_s"));
  EXPECT_DOUBLE_EQ(lines[1]["loss_pose"].get<double>(), 5.0);
  EXPECT_FALSE(lines[1].contains("d_real"));
  EXPECT_DOUBLE_EQ(lines[1]["data_wait_s"].get<double>(), 0.0);
}

TEST(Checkpointer, ConfirmsAfterAFiniteStepAndCondemnsAfterANaN) {
  const std::string root = test::fresh_dir("checkpointer");
  WorkDir work_dir(root);
  work_dir.prepare(Config{});
  DistContext dist;
  Checkpointer checkpointer(work_dir, dist, /*is_main=*/true);
  const auto write_text = [](const std::string& path) { std::ofstream(path) << "weights"; };

  const std::string a = checkpointer.write("dkd", "epoch_1.pt", write_text);
  EXPECT_TRUE(fs::is_regular_file(a));
  EXPECT_EQ(fs::path(work_dir.last_checkpoint()), fs::path(a));
  EXPECT_EQ(checkpointer.latest(), a);
  EXPECT_EQ(checkpointer.last_good(), "");  // pending until a finite step
  checkpointer.confirm_pending();
  EXPECT_EQ(checkpointer.last_good(), a);

  const std::string b = checkpointer.write("dkd", "step_5.pt", write_text);
  EXPECT_EQ(checkpointer.condemn_pending(), b);
  EXPECT_FALSE(fs::exists(b));
  EXPECT_TRUE(fs::is_regular_file(b + ".nan"));
  EXPECT_EQ(fs::path(work_dir.last_checkpoint()), fs::path(a));  // back to the good one
  EXPECT_EQ(checkpointer.last_good(), a);
}

TEST(Checkpointer, ACondemnedFirstCheckpointLeavesNoLastCheckpoint) {
  const std::string root = test::fresh_dir("checkpointer_first");
  WorkDir work_dir(root);
  work_dir.prepare(Config{});
  DistContext dist;
  Checkpointer checkpointer(work_dir, dist, true);
  const std::string a =
      checkpointer.write("initializer", "step_1.pt", [](const std::string& p) { std::ofstream(p) << "w"; });
  checkpointer.condemn_pending();
  EXPECT_FALSE(fs::exists(fs::path(root) / "last_checkpoint"));
  EXPECT_TRUE(fs::is_regular_file(a + ".nan"));
}

}  // namespace
}  // namespace dkd
