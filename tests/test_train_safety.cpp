// Runs that lose nothing and refuse to mix: start-up validation of every input,
// SIGTERM's exit code, durable atomic writes and stale temporaries, --resume's
// fallback to the newest good checkpoint, stage completion only after the final
// validation, a NaN never named "last good", and work dirs that refuse a second
// run or a changed config.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "data_fixtures.h"
#include "hostile_files.h"
#include "tool_runner.h"
#include "dkd/config/config.h"
#include "dkd/data/dataset.h"
#include "dkd/data/mat_file.h"
#include "dkd/data/penn_action.h"
#include "dkd/synth/synth.h"
#include "train_fixtures.h"
#include "dkd/models/model_set.h"
#include "dkd/models/checkpoint.h"
#include "dkd/train/signals.h"
#include "dkd/train/work_dir.h"
#include "dkd/util/error.h"
#include "dkd/util/runtime.h"

namespace fs = std::filesystem;

namespace {

class TrainSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = dkd::test::per_test_dir("safety");
    const std::string data_root = dkd::test::tiny_synth_penn(dir_, 6, 9, 128, 96, 8, 10);
    config_path_ = dkd::test::write_tiny_initializer_config((dir_ / "tiny.yaml").string(), data_root);
  }
  void TearDown() override { fs::remove_all(dir_); }

  dkd::test::ToolResult train(const std::string& work, const std::string& extra = "") const {
    return dkd::test::run_tool_command(
        "dkd_train", "--config " + config_path_ + " --work-dir " + (dir_ / work).string() + " " + extra);
  }

  fs::path dir_;
  std::string config_path_;
};

// ---- start-up validation

TEST_F(TrainSafety, DkdWithoutAnInitializerSourceIsAConfigErrorNamingTheKey) {
  const auto r = train("w", "--set train.stages=[dkd]");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("train.initializer_checkpoint"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir_ / "w" / "metrics.jsonl"));
}

TEST_F(TrainSafety, EveryInputPathIsCheckedBeforeTheFirstStep) {
  // A missing initializer checkpoint for a dkd stage that would start after the initializer stage... of another run.
  auto r = train("w1", "--set train.stages=[dkd] --set train.initializer_checkpoint=" + (dir_ / "nope.pt").string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("train.initializer_checkpoint"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nope.pt"), std::string::npos) << r.output;
  // A file that is not a checkpoint: one error naming it, exit 1.
  const std::string junk = (dir_ / "junk.pt").string();
  std::ofstream(junk) << "not a checkpoint";
  r = train("w2", "--set train.stages=[dkd] --set train.initializer_checkpoint=" + junk);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(junk), std::string::npos) << r.output;
  // A pretrained backbone that does not exist, with the initializer stage first: still before any step.
  r = train("w3", "--set model.encoder.pretrained=" + (dir_ / "resnet.pt").string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("model.encoder.pretrained"), std::string::npos) << r.output;
  for (const char* w : {"w1", "w2", "w3"}) EXPECT_FALSE(fs::exists(dir_ / w / "metrics.jsonl")) << w;
}

TEST_F(TrainSafety, DistTimeoutHasAnUpperBound) {
  EXPECT_NO_THROW(dkd::load_config(config_path_, {"dist.timeout_s=86400"}));
  try {
    dkd::load_config(config_path_, {"dist.timeout_s=1e300"});
    FAIL() << "accepted";
  } catch (const dkd::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("dist.timeout_s"), std::string::npos) << e.what();
  }
}

TEST_F(TrainSafety, NanVisibilityCountsAsNotVisible) {
  const std::string root = (dir_ / "nanvis").string();
  const std::string path = dkd::penn_label_path(root, "0001");
  fs::create_directories(fs::path(path).parent_path());
  const std::size_t T = 2, J = 13;
  std::vector<double> x(T * J, 10.0), y(T * J, 12.0), vis(T * J, 1.0);
  vis[0] = std::nan("");  // frame 0, joint 0 (non-finite coordinates are refused by the reader)
  {
    dkd::MatWriter w(path, false);
    w.write_numeric("x", {T, J}, x);
    w.write_numeric("y", {T, J}, y);
    w.write_numeric("visibility", {T, J}, vis);
    w.write_numeric("bbox", {T, 4}, {1, 1, 1, 1, 20, 20, 20, 20});
    w.write_numeric("dimensions", {1, 3}, {48, 64, 2});
    w.write_numeric("nframes", {1, 1}, {2});
    w.write_numeric("train", {1, 1}, {1});
    w.write_text("action", "bowl");
    w.write_text("pose", "front");
  }
  const dkd::VideoRecord v = dkd::PennAction::read_labels(path, root, "0001");
  EXPECT_EQ(v.visible[0 * J + 0], 0);
  EXPECT_EQ(v.visible[1 * J + 0], 1);
  EXPECT_EQ(v.visible[0 * J + 1], 1);
}

// ---- signals

TEST_F(TrainSafety, SigtermSavesACheckpointAndExits143) {
  const fs::path work = dir_ / "term";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string cmd = std::string(DKD_TOOL_DIR) + "/dkd_train --config " + config_path_ + " --work-dir " +
                            work.string() +
                            " --set train.initializer.max_iters=100000 --set train.initializer.epochs=1000"
                            " > /dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline && !fs::exists(work / "metrics.jsonl"))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 143);
  const std::string last = dkd::WorkDir(work.string()).last_checkpoint();
  EXPECT_NE(last.find("interrupted_step_"), std::string::npos) << last;
}

TEST(StopSignals, ACopyWithinASecondIsTheSameRequestALaterOneExitsAtOnce) {
  // Ctrl-C to the process group plus a launcher's forwarded SIGTERM: one request.
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dkd::install_stop_handlers();
    raise(SIGINT);
    raise(SIGTERM);
    _exit(dkd::stop_requested() && dkd::stop_signal() == SIGINT ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // A second signal later than that: the user wants out now.
  pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dkd::install_stop_handlers();
    raise(SIGINT);
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    raise(SIGTERM);
    _exit(0);
  }
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
}

// ---- durable files

TEST(DurableFiles, AtomicWritesLeaveNoTemporaryAndStaleOnesAreRemoved) {
  const fs::path dir = dkd::test::fresh_dir("durable");
  fs::create_directories(dir / "checkpoints" / "dkd");
  const std::string target = (dir / "last_checkpoint").string();
  dkd::write_file_atomic(target, "checkpoints/dkd/epoch_1.pt\n");
  EXPECT_EQ(dkd::read_file(target), "checkpoints/dkd/epoch_1.pt\n");
  EXPECT_FALSE(fs::exists(dkd::atomic_temp_path(target)));
  // Left by a killed writer (no such process), by this process (in use), and an old-style one.
  pid_t dead = 1 << 22;  // above pid_max on most systems; checked below
  while (kill(dead, 0) == 0 || errno != ESRCH) ++dead;
  const fs::path stale = dir / "checkpoints" / "dkd" / ("epoch_2.pt.tmp." + std::to_string(dead));
  const fs::path mine = dir / ("best.pt.tmp." + std::to_string(getpid()));
  const fs::path legacy = dir / "best.pt.tmp";
  for (const auto& p : {stale, mine, legacy}) std::ofstream(p) << "partial";
  dkd::WorkDir wd(dir.string());
  const auto removed = wd.clean_temporaries();
  EXPECT_EQ(removed.size(), 2u);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_FALSE(fs::exists(legacy));
  EXPECT_TRUE(fs::exists(mine));
  dkd::copy_file_atomic(target, (dir / "copy").string());
  EXPECT_EQ(dkd::read_file((dir / "copy").string()), "checkpoints/dkd/epoch_1.pt\n");
  fs::remove_all(dir);
}

// ---- resume

TEST_F(TrainSafety, ResumeFallsBackToTheNewestGoodCheckpoint) {
  auto r = train("run", "--set train.checkpoint_every=1 --set train.initializer.max_iters=3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const fs::path work = dir_ / "run";
  const std::string last = dkd::WorkDir(work.string()).last_checkpoint();
  ASSERT_FALSE(last.empty());
  // A power loss left the newest checkpoint empty.
  std::ofstream(last, std::ios::trunc).close();
  std::ofstream(work / "checkpoints" / "initializer" / "step_9.pt.tmp.4194000") << "partial";
  r = train("run", "--resume --set train.checkpoint_every=1 --set train.initializer.max_iters=3");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("passed over"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(last), std::string::npos) << r.output;
  const std::string now = dkd::WorkDir(work.string()).last_checkpoint();
  EXPECT_NO_THROW(dkd::read_checkpoint_meta(now));
}

TEST_F(TrainSafety, StageCompleteOnlyAfterItsFinalValidationAndBest) {
  // Every frame outside the training split fails to decode (the validation
  // videos are among them, whichever split validation uses): the final validation crashes.
  dkd::Config c = dkd::load_config(config_path_);
  std::set<std::string> train_frames;
  for (const auto& v : dkd::load_split(c.data, dkd::SplitKind::train))
    for (const auto& f : v.frame_paths) train_frames.insert(f);
  std::vector<std::string> frames;
  for (const auto& v : dkd::load_split(c.data, dkd::SplitKind::all))
    for (const auto& f : v.frame_paths)
      if (!train_frames.count(f)) frames.push_back(f);
  ASSERT_FALSE(frames.empty());
  const fs::path backup = dir_ / "frames_backup";
  fs::create_directories(backup);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    fs::copy_file(frames[i], backup / std::to_string(i));
    dkd::test::write_png_claiming(frames[i], 40000, 40000);
  }
  auto r = train("run");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const fs::path work = dir_ / "run";
  const std::string last = dkd::WorkDir(work.string()).last_checkpoint();
  ASSERT_FALSE(last.empty()) << r.output;
  auto meta = dkd::read_checkpoint_meta(last);
  EXPECT_TRUE(meta.completed_stages.empty()) << "stage marked complete before its validation";
  EXPECT_FALSE(fs::exists(work / "best.pt"));

  for (std::size_t i = 0; i < frames.size(); ++i)
    fs::copy_file(backup / std::to_string(i), frames[i], fs::copy_options::overwrite_existing);
  r = train("run", "--resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("validation initializer"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(work / "best.pt"));
  meta = dkd::read_checkpoint_meta(dkd::WorkDir(work.string()).last_checkpoint());
  EXPECT_EQ(meta.completed_stages, std::vector<dkd::StageKind>{dkd::StageKind::initializer});
}

TEST_F(TrainSafety, ANanStepNeverLeavesItsWeightsAsLastGood) {
  const auto r =
      train("nan", "--set train.lr=1e30 --set train.checkpoint_every=1 --set train.initializer.max_iters=50");
  ASSERT_EQ(r.exit_code, 1) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("iteration ([0-9]+):"))) << r.output;
  const std::string condemned = "step_" + m[1].str() + ".pt";
  ASSERT_NE(r.output.find("Last good checkpoint"), std::string::npos) << r.output;
  const auto named = r.output.substr(r.output.find("Last good checkpoint"));
  EXPECT_EQ(named.substr(0, named.find('(')).find(condemned), std::string::npos) << r.output;
  const std::string last = dkd::WorkDir((dir_ / "nan").string()).last_checkpoint();
  EXPECT_EQ(last.find(condemned), std::string::npos) << last;
  // Neither a --resume nor its fallback can pick the condemned weights.
  for (const auto& c : dkd::WorkDir((dir_ / "nan").string()).checkpoints_newest_first())
    EXPECT_EQ(c.find(condemned), std::string::npos) << c;
  if (!last.empty()) {
    // The checkpoint --resume would take holds finite weights.
    dkd::ModelSet models = dkd::build_model_set(dkd::load_config(config_path_), torch::kCPU);
    dkd::load_model_weights(last, {{"initializer", models.initializer.ptr().get()}});
    for (const auto& p : models.initializer->parameters()) EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
  }
}

// ---- work dirs

TEST_F(TrainSafety, AUsedWorkDirIsRefusedUnlessResumeOrForce) {
  ASSERT_EQ(train("run").exit_code, 0);
  auto r = train("run");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("already holds a run"), std::string::npos) << r.output;
  r = train("run", "--force");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  int moved = 0;
  for (const auto& e : fs::directory_iterator(dir_))
    if (e.path().filename().string().rfind("run.old-", 0) == 0) {
      ++moved;
      EXPECT_TRUE(fs::exists(e.path() / "last_checkpoint"));
    }
  EXPECT_EQ(moved, 1);
  // The new run's metrics are its own: one train line per step of one run.
  std::ifstream in(dir_ / "run" / "metrics.jsonl");
  int train_lines = 0;
  for (std::string line; std::getline(in, line);) train_lines += line.find("\"type\":\"train\"") != std::string::npos;
  EXPECT_EQ(train_lines, 4);
}

TEST_F(TrainSafety, ABusyWorkDirIsRefusedWithTheHoldersPidAndAKilledRunLeavesNoLock) {
  for (const std::string& launch : {std::string(""), std::string("--nproc 2")}) {
    // A long run that holds its work dir until it is killed.
    const std::string name = launch.empty() ? "busy" : "busy_ranks";
    const fs::path work = dir_ / name;
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      const std::string cmd = std::string(DKD_TOOL_DIR) + "/dkd_train --config " + config_path_ + " --work-dir " +
                              work.string() + " " + launch +
                              " --set train.initializer.max_iters=100000 --set train.initializer.epochs=1000"
                              " > /dev/null 2>&1";
      execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // The holder writes its pid into the lock file once it holds it (for
    // --nproc, the launcher's: the ranks share its lock).
    const std::string lock = (work / dkd::kWorkDirLockFile).string();
    const std::string holder = std::to_string(pid) + "\n";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline &&
           !(fs::exists(lock) && dkd::read_file(lock) == holder && fs::exists(work / "config.yaml")))
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_EQ(dkd::read_file(lock), holder) << launch;
    // A second run into it, however started, is refused with the holder's pid.
    for (const char* extra : {"", "--force", "--resume", "--nproc 2 --force"}) {
      const auto r = train(name, extra);
      EXPECT_EQ(r.exit_code, 2) << launch << " / " << extra << ": " << r.output;
      EXPECT_NE(r.output.find("is in use by another dkd_train (pid " + std::to_string(pid) + ")"), std::string::npos)
          << launch << " / " << extra << ": " << r.output;
    }
    EXPECT_FALSE(dkd::FileLock().try_lock(lock));
    // Killed without a chance to clean up: the kernel drops the lock (with
    // --nproc once the ranks, killed with their launcher, are gone too).
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    bool free = dkd::FileLock().try_lock(lock);
    for (int tries = 0; tries < 3000 && !free && !launch.empty(); ++tries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      free = dkd::FileLock().try_lock(lock);
    }
    EXPECT_TRUE(free) << launch << ": the killed run left its lock";
  }
}

TEST_F(TrainSafety, ResumeUsesTheStoredConfigAndRefusesChanges) {
  ASSERT_EQ(train("run", "--set train.initializer.max_iters=2").exit_code, 0);
  // A changed config is refused with the differing keys.
  auto r = train("run", "--resume --set train.initializer.max_iters=3 --set train.lr=0.5");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("train.lr: 0.001 -> 0.5"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("train.initializer.max_iters"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--resume-with-changes"), std::string::npos) << r.output;
  // Without --config the stored config is used.
  r = dkd::test::run_tool_command("dkd_train", "--work-dir " + (dir_ / "run").string() + " --resume");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // With --resume-with-changes the given config wins and is stored.
  r = train("run", "--resume --resume-with-changes --set train.initializer.max_iters=3");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const auto stored = dkd::load_config((dir_ / "run" / "config.yaml").string());
  EXPECT_EQ(stored.train.initializer.max_iters, 3);
}

}  // namespace
