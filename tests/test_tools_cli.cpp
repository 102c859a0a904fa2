// The four tools' command lines: help, config errors and exit codes.
#include <gtest/gtest.h>

#include <filesystem>

#include "common.h"
#include "tool_runner.h"

using dkd::test::run_tool_command;

namespace {

const std::string kSynthetic = std::string(DKD_SOURCE_DIR) + "/configs/synthetic.yaml";

TEST(ToolsCli, HelpExitsZeroForEveryTool) {
  for (const char* tool : {"dkd_train", "dkd_eval", "dkd_infer", "dkd_data"}) {
    const auto r = run_tool_command(tool, "--help");
    EXPECT_EQ(r.exit_code, 0) << tool << ": " << r.output;
    EXPECT_NE(r.output.find("Usage"), std::string::npos) << tool << ": " << r.output;
  }
}

TEST(ToolsCli, WrongTypeInSetExitsTwoNamingTheKey) {
  const auto r = run_tool_command("dkd_train", "--config " + kSynthetic + " --set train.lr=abc");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("train.lr"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("abc"), std::string::npos) << r.output;
}

TEST(ToolsCli, UnknownKeyInSetExitsTwoWithSuggestion) {
  const auto r = run_tool_command("dkd_train", "--config " + kSynthetic + " --set train.lrr=0.1");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("did you mean train.lr?"), std::string::npos) << r.output;
}

TEST(ToolsCli, MissingConfigExitsTwoNamingThePath) {
  const auto r = run_tool_command("dkd_train", "--config /nonexistent/dkd.yaml");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/dkd.yaml"), std::string::npos) << r.output;
}

TEST(ToolsCli, SetWorksOnEveryToolAndPrintsTheResolvedConfig) {
  for (const char* tool : {"dkd_train", "dkd_eval"}) {
    const auto r = run_tool_command(tool, "--config " + kSynthetic + " --set train.lr=0.125 --print-config");
    EXPECT_EQ(r.exit_code, 0) << tool << ": " << r.output;
    EXPECT_NE(r.output.find("lr: 0.125"), std::string::npos) << tool << ": " << r.output;
  }
}

TEST(ToolsCli, UnknownFlagIsAUsageError) {
  const auto r = run_tool_command("dkd_train", "--no-such-flag");
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

TEST(ToolsCli, UnknownVariantNameListsTheValidOnes) {
  auto r = run_tool_command("dkd_data", "check --dataset coco --root /nonexistent");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--dataset"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("penn"), std::string::npos) << r.output;
  r = run_tool_command("dkd_data", "synth --format coco --out /nonexistent");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = run_tool_command("dkd_eval", "--config " + kSynthetic + " --checkpoint /nonexistent.pt --model largest");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("dkd, initializer or baseline"), std::string::npos) << r.output;
}

TEST(ToolsCli, AMissingDataSetSaysWhichFolderWasExpectedAndWhereToGetIt) {
  namespace fs = std::filesystem;
  const fs::path dir = dkd::test::fresh_dir("missing_data");
  const std::string penn = std::string(DKD_SOURCE_DIR) + "/configs/penn.yaml";
  const std::string jhmdb = std::string(DKD_SOURCE_DIR) + "/configs/jhmdb.yaml";
  for (const std::string& config : {penn, jhmdb}) {
    // A folder that does not exist, then one that exists but holds something else.
    for (const fs::path& root : {dir / "no_such_set", dir}) {
      const auto r = run_tool_command("dkd_train", "--config " + config + " --set data.root=" + root.string() +
                                                       " --work-dir " + (dir / "work").string() + " --force");
      EXPECT_EQ(r.exit_code, 1) << r.output;
      EXPECT_NE(r.output.find(root.string()), std::string::npos) << r.output;
      EXPECT_NE(r.output.find(fs::exists(root) ? "directory in" : "does not exist"), std::string::npos) << r.output;
      EXPECT_NE(r.output.find("docs/datasets.md"), std::string::npos) << r.output;
      EXPECT_NE(r.output.find("data.root"), std::string::npos) << r.output;
    }
  }
  fs::remove_all(dir);
}

}  // namespace
