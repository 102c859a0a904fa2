// A full disk: every writer fails with one clear error (the file, the cause, the
// free space), removes its temporary and leaves the previous file as it was;
// dkd_train exits 1 (no crash) and --resume continues once there is room. The
// disk fills through the writers' test hook (fail_writes_for_testing, or
// DKD_TEST_FULL_DISK for a tool); one test also fills a real tmpfs where this
// machine lets an unprivileged user namespace mount one.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common.h"
#include "tool_runner.h"
#include "train_fixtures.h"
#include "dkd/data/mat_file.h"
#include "dkd/models/checkpoint.h"
#include "dkd/train/work_dir.h"
#include "dkd/util/error.h"
#include "dkd/util/logging.h"
#include "dkd/util/runtime.h"

namespace fs = std::filesystem;

namespace {

/// The hook is off again however a test ends.
struct FullDisk : ::testing::Test {
  void TearDown() override { dkd::fail_writes_for_testing("", -1); }
};

/// Files under `dir` whose name holds ".tmp" (temporaries of the atomic writers).
std::vector<std::string> temporaries_under(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".tmp") != std::string::npos) out.push_back(e.path().string());
  return out;
}

/// The message names the file, says the disk is full and how much room is left.
void expect_full_disk_message(const std::string& message, const std::string& file) {
  EXPECT_NE(message.find("cannot write " + file), std::string::npos) << message;
  EXPECT_NE(message.find("No space left on device"), std::string::npos) << message;
  EXPECT_NE(message.find("free on the file system of"), std::string::npos) << message;
}

/// Runs `script` (sh) in a private mount namespace, as root of a user namespace,
/// after mounting a tmpfs of `size` on `mount`; the mount vanishes with it. The
/// script's exit status, or -1 when this machine lets no tmpfs be mounted so.
int run_on_small_tmpfs(const std::string& mount, const std::string& size, const std::string& script) {
  std::filesystem::create_directories(mount);
  const std::string probe = "unshare --user --map-root-user --mount sh -c 'mount -t tmpfs -o size=" + size + " tmpfs " +
                            mount + "' >/dev/null 2>&1";
  if (std::system(probe.c_str()) != 0) return -1;
  const std::string command = "unshare --user --map-root-user --mount sh -c \"mount -t tmpfs -o size=" + size +
                              " tmpfs " + mount + " && " + script + "\"";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

struct TinyModel : torch::nn::Module {
  TinyModel() { weight = register_parameter("weight", torch::randn({64, 64})); }
  torch::Tensor weight;
};

TEST_F(FullDisk, ACheckpointThatDoesNotFitIsAnErrorAndThePreviousOneStays) {
  const fs::path dir = dkd::test::per_test_dir("full_disk");
  TinyModel model;
  torch::optim::Adam adam(model.parameters(), torch::optim::AdamOptions(1e-3));
  const dkd::ModuleMap modules{{"initializer", &model}};
  const dkd::OptimizerMap optimizers{{"initializer", &adam}};
  dkd::CheckpointMeta meta;
  meta.epoch = 1;
  const std::string first = (dir / "epoch_1.pt").string();
  dkd::save_checkpoint(first, meta, modules, optimizers);
  dkd::WorkDir work_dir(dir.string());
  work_dir.set_last_checkpoint(first);
  const std::string first_bytes = dkd::read_file(first);
  const auto size = static_cast<int64_t>(first_bytes.size());

  // The disk fills at the start, inside and at the very end of the archive; a new
  // file and a re-save over the previous one (as a new best does).
  for (const int64_t room : {int64_t{0}, int64_t{100}, size / 2, size - 1}) {
    for (const std::string& name : {std::string("epoch_2.pt"), std::string("epoch_1.pt")}) {
      const std::string path = (dir / name).string();
      meta.epoch = 2;
      dkd::fail_writes_for_testing(name, room);
      const std::string message = dkd::test::error_of([&] { dkd::save_checkpoint(path, meta, modules, optimizers); });
      dkd::fail_writes_for_testing("", -1);
      expect_full_disk_message(message, path);
      EXPECT_TRUE(temporaries_under(dir).empty()) << "room " << room;
      EXPECT_EQ(dkd::read_file(first), first_bytes) << "room " << room;
      EXPECT_FALSE(fs::exists(dir / "epoch_2.pt")) << "room " << room;
      EXPECT_EQ(fs::path(work_dir.last_checkpoint()), fs::path(first));
      EXPECT_EQ(dkd::read_checkpoint_meta(first).epoch, 1);
    }
  }
  // With room again, the same save succeeds.
  dkd::save_checkpoint((dir / "epoch_2.pt").string(), meta, modules, optimizers);
  EXPECT_EQ(dkd::read_checkpoint_meta((dir / "epoch_2.pt").string()).epoch, 2);
  fs::remove_all(dir);
}

TEST_F(FullDisk, AMetricsLineThatDoesNotFitIsCutOffAndReported) {
  const fs::path dir = dkd::test::per_test_dir("full_disk");
  const std::string path = (dir / "metrics.jsonl").string();
  dkd::MetricsWriter metrics;
  metrics.open(path);
  metrics.write({{"step", 1}, {"loss", 0.5}});
  const std::string one_line = dkd::read_file(path);
  dkd::fail_writes_for_testing("metrics.jsonl", 10);
  const std::string message = dkd::test::error_of([&] { metrics.write({{"step", 2}, {"loss", 0.25}}); });
  expect_full_disk_message(message, path);
  EXPECT_EQ(dkd::read_file(path), one_line);  // whole lines only
  dkd::fail_writes_for_testing("", -1);
  metrics.write({{"step", 2}, {"loss", 0.25}});
  EXPECT_EQ(dkd::read_file(path), one_line + "{\"loss\":0.25,\"step\":2}\n");
  fs::remove_all(dir);
}

TEST_F(FullDisk, AtomicFilesAndCopiesKeepTheirOldContents) {
  const fs::path dir = dkd::test::per_test_dir("full_disk");
  const std::string report = (dir / "eval.json").string();
  const std::string best = (dir / "best.pt").string();
  dkd::write_file_atomic(report, "old report");
  dkd::write_file_atomic(best, "old best");
  dkd::write_file_atomic((dir / "epoch_3.pt").string(), std::string(3 << 20, 'x'));  // beyond one copy buffer
  for (const int64_t room : {int64_t{0}, int64_t{5}, int64_t{(1 << 20) + 7}}) {
    if (room < 12) {  // "a new report" is 12 bytes
      dkd::fail_writes_for_testing("", room);
      expect_full_disk_message(dkd::test::error_of([&] { dkd::write_file_atomic(report, "a new report"); }), report);
    }
    dkd::fail_writes_for_testing("", room);
    expect_full_disk_message(dkd::test::error_of([&] { dkd::copy_file_atomic((dir / "epoch_3.pt").string(), best); }),
                             best);
    dkd::fail_writes_for_testing("", -1);
    EXPECT_EQ(dkd::read_file(report), "old report");
    EXPECT_EQ(dkd::read_file(best), "old best");
    EXPECT_TRUE(temporaries_under(dir).empty()) << "room " << room;
  }
  // A plain checked write (generated frames) removes its partial file.
  const std::string frame = (dir / "000001.jpg").string();
  dkd::fail_writes_for_testing("000001.jpg", 3);
  expect_full_disk_message(dkd::test::error_of([&] { dkd::write_file(frame, "jpeg bytes"); }), frame);
  EXPECT_FALSE(fs::exists(frame));
  fs::remove_all(dir);
}

TEST_F(FullDisk, TheLogFileIsGivenUpWithOneMessageAndTheRunGoesOn) {
  const fs::path dir = dkd::test::per_test_dir("full_disk");
  const std::string log = (dir / "log.txt").string();
  dkd::init_logging("info");
  dkd::add_log_file(log);
  spdlog::info("first line");
  const std::string before = dkd::read_file(log);
  ASSERT_NE(before.find("first line"), std::string::npos);
  dkd::fail_writes_for_testing("log.txt", 4);
  testing::internal::CaptureStderr();
  EXPECT_NO_THROW(spdlog::info("second line"));
  EXPECT_NO_THROW(spdlog::info("third line"));
  const std::string console = testing::internal::GetCapturedStderr();
  dkd::fail_writes_for_testing("", -1);
  spdlog::info("fourth line");
  expect_full_disk_message(console, log);
  EXPECT_NE(console.find("logging to the console only"), std::string::npos) << console;
  EXPECT_NE(console.find("third line"), std::string::npos) << console;  // the console still has everything
  EXPECT_EQ(dkd::read_file(log), before);                               // no cut line, nothing after the failure
  dkd::init_logging("info");                                            // the next tests log to the console only
  fs::remove_all(dir);
}

// ---- dkd_train on a full disk

class FullDiskTraining : public FullDisk {
 protected:
  void SetUp() override {
    dir_ = dkd::test::per_test_dir("full_disk_train");
    const std::string data_root = dkd::test::tiny_synth_penn(dir_, 6, 9, 128, 96, 8, 10);
    config_path_ = dkd::test::write_tiny_initializer_config((dir_ / "tiny.yaml").string(), data_root);
  }
  void TearDown() override {
    unsetenv("DKD_TEST_FULL_DISK");
    fs::remove_all(dir_);
  }

  dkd::test::ToolResult train(const std::string& extra, const std::string& full_disk = "") const {
    if (full_disk.empty())
      unsetenv("DKD_TEST_FULL_DISK");
    else
      setenv("DKD_TEST_FULL_DISK", full_disk.c_str(), 1);
    // A checkpoint after every step of one epoch.
    auto r = dkd::test::run_tool_command(
        "dkd_train", "--config " + config_path_ + " --work-dir " + work().string() +
                         " --set train.checkpoint_every=1 --set train.initializer.epochs=1 " + extra);
    unsetenv("DKD_TEST_FULL_DISK");
    return r;
  }
  fs::path work() const { return dir_ / "run"; }

  /// Exit 1 with one clear error naming `file`, no crash, no temporary, and
  /// last_checkpoint still naming a checkpoint that reads whole.
  void expect_clean_failure(const dkd::test::ToolResult& r, const std::string& file) const {
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("dkd_train: error: cannot write"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(file), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("No space left on device"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("terminate"), std::string::npos) << r.output;
    EXPECT_TRUE(temporaries_under(work()).empty());
    const dkd::WorkDir wd(work().string());
    ASSERT_FALSE(wd.last_checkpoint().empty());
    EXPECT_NO_THROW(dkd::read_checkpoint_meta(wd.last_checkpoint()));
  }

  fs::path dir_;
  std::string config_path_;
};

TEST_F(FullDiskTraining, ACheckpointOrMetricsWriteFailsCleanlyAndResumeContinues) {
  // The third step's checkpoint does not fit: steps 1 and 2 are kept.
  auto r = train("", "step_3.pt:2000");
  expect_clean_failure(r, "step_3.pt");
  const dkd::WorkDir wd(work().string());
  EXPECT_EQ(fs::path(wd.last_checkpoint()).filename(), "step_2.pt");
  EXPECT_FALSE(fs::exists(wd.checkpoint_path("initializer/step_3.pt")));
  // With room again, --resume continues from step 2 to the end.
  r = train("--resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(fs::path(wd.last_checkpoint()).filename(), "final.pt");

  // metrics.jsonl fills up during its third line (steps 1 and 2 have their
  // checkpoints): whole lines stay, and the run resumes.
  std::ifstream done(work() / "metrics.jsonl");
  std::string line1, line2;
  ASSERT_TRUE(std::getline(done, line1) && std::getline(done, line2));
  r = train("--force", "metrics.jsonl:" + std::to_string(line1.size() + line2.size() + 2 + 10));
  expect_clean_failure(r, "metrics.jsonl");
  std::ifstream in(work() / "metrics.jsonl");
  int lines = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    nlohmann::json record;
    EXPECT_NO_THROW(record = nlohmann::json::parse(line)) << line;
  }
  EXPECT_GT(lines, 0);
  r = train("--resume");
  EXPECT_EQ(r.exit_code, 0) << r.output;

  // best.pt does not fit (the final validation copies the stage's checkpoint).
  r = train("--force", "best.pt:1000");
  expect_clean_failure(r, "best.pt");
  EXPECT_FALSE(fs::exists(work() / "best.pt"));
  r = train("--resume");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NO_THROW(dkd::read_checkpoint_meta((work() / "best.pt").string()));
}

TEST_F(FullDiskTraining, ARealSmallFileSystemFillsUpWithoutACrash) {
  // A tmpfs in a private mount namespace where the machine allows it: room for
  // the run's small files and a few checkpoints; then grown, and the run resumed.
  const std::string mount = (dir_ / "small").string();
  const std::string tool = std::string(DKD_TOOL_DIR) + "/dkd_train";
  const std::string work_dir = mount + "/run";
  const std::string script = tool + " --config " + config_path_ + " --work-dir " + work_dir +
                             " --set train.checkpoint_every=1 --set train.initializer.epochs=1 >" +
                             (dir_ / "first.txt").string() + " 2>&1; echo \\$? >" + (dir_ / "first_rc").string() +
                             "; ls -R " + work_dir + " >" + (dir_ / "files.txt").string() + "; cat " + work_dir +
                             "/last_checkpoint >" + (dir_ / "last.txt").string() + "; mount -o remount,size=256m " +
                             mount + " && " + tool + " --work-dir " + work_dir + " --resume >" +
                             (dir_ / "second.txt").string() + " 2>&1; echo \\$? >" + (dir_ / "second_rc").string();
  // Room for the small files and two and a half checkpoints, as large as a first run's.
  ASSERT_EQ(train("--set train.initializer.max_iters=1").exit_code, 0);
  const auto checkpoint = fs::file_size(dkd::WorkDir(work().string()).last_checkpoint());
  const int rc = run_on_small_tmpfs(mount, std::to_string((64 * 1024 + 5 * checkpoint / 2) / 1024) + "k", script);
  if (rc == -1) GTEST_SKIP() << "no tmpfs can be mounted here (unshare/mount refused)";
  ASSERT_EQ(rc, 0);
  const std::string first = dkd::read_file((dir_ / "first.txt").string());
  EXPECT_EQ(dkd::read_file((dir_ / "first_rc").string()), "1\n") << first;
  EXPECT_NE(first.find("No space left on device"), std::string::npos) << first;
  EXPECT_NE(first.find("free on the file system of"), std::string::npos) << first;
  EXPECT_EQ(first.find("terminate"), std::string::npos) << first;
  const std::string files = dkd::read_file((dir_ / "files.txt").string());
  EXPECT_EQ(files.find(".tmp"), std::string::npos) << files;
  std::string last = dkd::read_file((dir_ / "last.txt").string());
  while (!last.empty() && last.back() == '\n') last.pop_back();
  ASSERT_FALSE(last.empty());
  EXPECT_NE(files.find(fs::path(last).filename().string()), std::string::npos) << files;
  EXPECT_EQ(dkd::read_file((dir_ / "second_rc").string()), "0\n") << dkd::read_file((dir_ / "second.txt").string());
}

TEST_F(FullDisk, DkdDataSynthStopsCleanlyOnARealFullDisk) {
  // The generated frames and MAT files (matio writes through stdio, unhooked) on a
  // tmpfs too small for the set.
  const fs::path dir = dkd::test::per_test_dir("full_disk_mat");
  const std::string mount = (dir / "small").string();
  const std::string tool = std::string(DKD_TOOL_DIR) + "/dkd_data";
  const std::string out = (dir / "out.txt").string();
  const std::string script = tool + " synth --out " + mount + "/synth --videos 20 --backgrounds procedural >" + out +
                             " 2>&1; echo \\$? >" + (dir / "rc").string() + "; ls -R " + mount + " >" +
                             (dir / "files.txt").string();
  const int rc = run_on_small_tmpfs(mount, "200k", script);
  if (rc == -1) GTEST_SKIP() << "no tmpfs can be mounted here (unshare/mount refused)";
  ASSERT_EQ(rc, 0);
  const std::string output = dkd::read_file(out);
  EXPECT_EQ(dkd::read_file((dir / "rc").string()), "1\n") << output;
  EXPECT_NE(output.find("free on the file system of"), std::string::npos) << output;
  EXPECT_EQ(output.find("terminate"), std::string::npos) << output;
  const std::string files = dkd::read_file((dir / "files.txt").string());
  EXPECT_EQ(files.find(".tmp"), std::string::npos) << files;
  fs::remove_all(dir);
}

}  // namespace
