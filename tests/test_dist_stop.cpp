// Stopping a 2-rank `dkd_train --nproc 2` on loopback: a terminal's Ctrl-C (SIGINT
// to the launcher's process group) saves one checkpoint of one step from all
// ranks and exits 130; a signal to one rank only stops every rank at the same
// step (143 for SIGTERM); a second Ctrl-C kills the ranks at once. Each test is
// bounded in time.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "dkd/synth/synth.h"
#include "train_fixtures.h"
#include "dkd/models/checkpoint.h"
#include "dkd/train/work_dir.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

class DistStop : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = dkd::test::per_test_dir("diststop");
    const std::string data_root = dkd::test::tiny_synth_penn(dir_, 6, 4, 96, 80, 8, 10);
    config_ = (dir_ / "tiny.yaml").string();
    std::ofstream(config_)
        << "runtime: {threads: 1, seed: 3, log_level: info}\n"
           "data: {dataset: penn, root: "
        << data_root
        << ", input_size: [64, 64], workers: 0}\n"
           "model:\n"
           "  initializer: {depth: 18, width: 0.0625, stages: 2, deconv_layers: 1, deconv_filters: 8}\n"
           "train:\n"
           "  stages: [initializer]\n"
           "  log_every: 1\n"
           "  val_every: 0\n"
           "  initializer: {epochs: 100000, batch_size: 2}\n"
           "dist: {timeout_s: 30, stop_grace_s: 60}\n";
  }
  void TearDown() override {
    if (launcher_ > 0) {
      ::kill(-launcher_, SIGKILL);
      ::waitpid(launcher_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }

  /// Starts `dkd_train --nproc 2` as the leader of its own process group (as a
  /// shell starts a foreground job) and waits until both ranks are training.
  void start(const std::string& extra = "") {
    work_ = dir_ / "work";
    launcher_ = fork();
    ASSERT_GE(launcher_, 0);
    if (launcher_ == 0) {
      setpgid(0, 0);
      const std::string cmd = std::string(DKD_TOOL_DIR) + "/dkd_train --config " + config_ + " --work-dir " +
                              work_.string() + " --nproc 2 " + extra + " > " + (dir_ / "out.txt").string() + " 2>&1";
      execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    setpgid(launcher_, launcher_);
    const auto deadline = Clock::now() + std::chrono::seconds(120);
    while (Clock::now() < deadline && train_lines() < 3) {
      int status = 0;
      if (waitpid(launcher_, &status, WNOHANG) == launcher_) {
        launcher_ = -1;
        FAIL() << "dkd_train ended before training: " << output();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_GE(train_lines(), 3) << output();
  }

  int train_lines() const {
    std::ifstream in(work_ / "metrics.jsonl");
    int n = 0;
    for (std::string line; std::getline(in, line);) n += line.find("\"type\":\"train\"") != std::string::npos;
    return n;
  }

  std::string output() const {
    std::ifstream in(dir_ / "out.txt");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  /// Waits at most `seconds` for the launcher; returns its exit code (-1 on timeout).
  int wait_launcher(double seconds) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
    while (Clock::now() < deadline) {
      int status = 0;
      if (waitpid(launcher_, &status, WNOHANG) == launcher_) {
        launcher_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

  /// Pid of the rank `rank` among the launcher's children (from /proc).
  pid_t rank_pid(int rank) const {
    for (const auto& e : fs::directory_iterator("/proc")) {
      const std::string name = e.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream stat(e.path() / "stat");
      std::string line;
      std::getline(stat, line);
      const auto close = line.rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream rest(line.substr(close + 2));
      std::string state;
      long ppid = 0;
      rest >> state >> ppid;
      if (ppid != launcher_) continue;
      std::ifstream env(e.path() / "environ", std::ios::binary);
      std::string entry;
      while (std::getline(env, entry, '\0'))
        if (entry == "RANK=" + std::to_string(rank)) return static_cast<pid_t>(std::stol(name));
    }
    return -1;
  }

  /// The checkpoint last_checkpoint names: an interrupted one of both ranks.
  dkd::CheckpointMeta interrupted_checkpoint() const {
    const std::string last = dkd::WorkDir(work_.string()).last_checkpoint();
    EXPECT_NE(last.find("interrupted_step_"), std::string::npos) << last << "\n" << output();
    const auto meta = dkd::read_checkpoint_meta(last);
    EXPECT_EQ(meta.world_size, 2);
    EXPECT_GT(meta.step, 0);
    return meta;
  }

  fs::path dir_, work_;
  std::string config_;
  pid_t launcher_ = -1;
};

TEST_F(DistStop, CtrlCToTheProcessGroupSavesOneCheckpointAndExits130) {
  start();
  ::kill(-launcher_, SIGINT);  // what a terminal does
  const int code = wait_launcher(90);
  ASSERT_EQ(code, 130) << output();
  const auto meta = interrupted_checkpoint();
  const std::string out = output();
  EXPECT_EQ(out.find("closed its connection"), std::string::npos) << out;
  EXPECT_EQ(out.find("second signal"), std::string::npos) << out;
  // Both ranks stopped at the step the checkpoint holds.
  EXPECT_NE(out.find("interrupted_step_" + std::to_string(meta.step) + ".pt"), std::string::npos) << out;
}

TEST_F(DistStop, ASignalToOneRankStopsAllRanksAtTheSameStep) {
  start();
  const pid_t rank1 = rank_pid(1);
  ASSERT_GT(rank1, 0);
  ::kill(rank1, SIGTERM);
  const int code = wait_launcher(90);
  ASSERT_EQ(code, 143) << output();
  interrupted_checkpoint();
  EXPECT_EQ(output().find("did not answer"), std::string::npos) << output();
}

TEST_F(DistStop, ASecondCtrlCKillsTheRanksAtOnce) {
  start();
  const pid_t rank0 = rank_pid(0);
  ASSERT_GT(rank0, 0);
  ::kill(rank0, SIGSTOP);  // a rank busy in a long step: the first Ctrl-C cannot finish
  ::kill(-launcher_, SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::kill(-launcher_, SIGINT);
  const auto t0 = Clock::now();
  const int code = wait_launcher(20);
  EXPECT_EQ(code, 130) << output();
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 10.0);
  EXPECT_NE(output().find("second signal"), std::string::npos) << output();
  // No rank is left behind.
  EXPECT_NE(::kill(rank0, 0), 0);
}

TEST_F(DistStop, TheLauncherWaitsABoundedTimeForTheSave) {
  start("--set dist.stop_grace_s=3");
  const pid_t rank0 = rank_pid(0);
  ASSERT_GT(rank0, 0);
  ::kill(rank0, SIGSTOP);  // a rank that cannot finish its save
  const auto t0 = Clock::now();
  ::kill(-launcher_, SIGINT);
  const int code = wait_launcher(30);
  const double took = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(code, 130) << output();
  EXPECT_GE(took, 2.5) << output();
  EXPECT_LT(took, 15.0) << output();
  EXPECT_NE(output().find("still running 3 s after the stop signal"), std::string::npos) << output();
}

}  // namespace
