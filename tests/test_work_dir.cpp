#include "dkd/train/work_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common.h"
#include "dkd/util/error.h"
#include "dkd/util/runtime.h"

namespace fs = std::filesystem;

namespace {

TEST(WorkDir, PrepareWritesTheResolvedConfigAndLog) {
  const fs::path root = fs::path(dkd::test::fresh_dir("workdir_prepare"));
  dkd::WorkDir wd(root.string());
  dkd::Config c;
  c.train.lr = 0.0375;
  wd.prepare(c);
  EXPECT_TRUE(fs::is_directory(root / "checkpoints"));
  const dkd::Config back = dkd::load_config((root / "config.yaml").string());
  EXPECT_TRUE(back == c);
  EXPECT_TRUE(fs::exists(root / "log.txt"));
  fs::remove_all(root);
}

TEST(WorkDir, LastCheckpointIsRelativeAndAtomic) {
  const fs::path root = fs::path(dkd::test::fresh_dir("workdir_last"));
  fs::create_directories(root / "checkpoints");
  dkd::WorkDir wd(root.string());
  EXPECT_EQ(wd.last_checkpoint(), "");
  wd.set_last_checkpoint((root / "checkpoints" / "epoch_2.pt").string());
  std::ifstream in(root / "last_checkpoint");
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "checkpoints/epoch_2.pt");
  EXPECT_EQ(fs::path(wd.last_checkpoint()), root / "checkpoints" / "epoch_2.pt");
  fs::remove_all(root);
}

TEST(WorkDir, UnwritableRootIsAnErrorNamingIt) {
  dkd::WorkDir wd("/proc/dkd_no_such_dir/run");
  try {
    wd.prepare(dkd::Config{});
    FAIL() << "no error";
  } catch (const dkd::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/dkd_no_such_dir"), std::string::npos) << e.what();
  }
}

TEST(MetricsWriter, ResumeDropsLinesAfterTheCheckpointAndCutLines) {
  const fs::path root = fs::path(dkd::test::fresh_dir("workdir_metrics"));
  fs::create_directories(root);
  const std::string path = (root / "metrics.jsonl").string();
  {
    std::ofstream f(path);
    f << R"({"type":"train","step":1,"loss":1})"
      << "\n"
      << R"({"type":"val","step":2,"pck":50})"
      << "\n"
      << R"({"type":"train","step":3,"loss":0.5})"
      << "\n"
      << R"({"type":"train","st)";  // cut by a kill
  }
  dkd::MetricsWriter w;
  w.open(path, 2);
  w.write({{"type", "train"}, {"step", 3}, {"loss", 0.4}});
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find("\"step\":1"), std::string::npos);
  EXPECT_NE(lines[1].find("\"step\":2"), std::string::npos);
  EXPECT_NE(lines[2].find("0.4"), std::string::npos);
  fs::remove_all(root);
}

}  // namespace

namespace {

TEST(WorkDirLock, AnotherHolderIsRefusedWithItsPidAndTheLockGoesWithIt) {
  const fs::path root = fs::path(dkd::test::fresh_dir("workdir_lock"));
  const std::string lock = (root / dkd::kWorkDirLockFile).string();
  // Another open file holding the lock: refused like another process (flock is per open file).
  dkd::FileLock other;
  ASSERT_TRUE(other.try_lock(lock));
  const std::string err = dkd::test::error_of<dkd::UsageError>([&] { dkd::lock_work_dir(root.string()); });
  EXPECT_NE(err.find("in use by another dkd_train (pid " + std::to_string(getpid()) + ")"), std::string::npos) << err;
  EXPECT_NE(err.find(lock), std::string::npos) << err;
  other = dkd::FileLock();  // released
  EXPECT_NO_THROW(dkd::lock_work_dir(root.string()));
  EXPECT_NO_THROW(dkd::lock_work_dir(root.string()));  // held already: nothing to do
  EXPECT_FALSE(dkd::FileLock().try_lock(lock));
  dkd::unlock_work_dir(root.string());
  EXPECT_TRUE(dkd::FileLock().try_lock(lock));
  fs::remove_all(root);
}

TEST(WorkDirLock, AChildSharesTheLockOnlyThroughTheHandedDownDescriptor) {
  const fs::path root = fs::path(dkd::test::fresh_dir("workdir_lock_share"));
  const std::string lock = (root / dkd::kWorkDirLockFile).string();
  dkd::lock_work_dir(root.string());
  dkd::share_work_dir_lock(root.string());
  const char* fd_text = std::getenv(dkd::kWorkDirLockEnv);
  ASSERT_NE(fd_text, nullptr);
  const int fd = std::atoi(fd_text);
  // A child (as a rank after exec) adopts the descriptor it inherited (here a
  // copy of it, the same open file, as a child has)...
  dkd::FileLock adopted;
  EXPECT_TRUE(adopted.adopt(::dup(fd), lock));
  // ...but not a descriptor of another file, nor one that is no lock at all.
  const fs::path elsewhere = fs::path(dkd::test::fresh_dir("workdir_lock_other"));
  std::ofstream(elsewhere / dkd::kWorkDirLockFile) << "";
  EXPECT_FALSE(dkd::FileLock().adopt(fd, (elsewhere / dkd::kWorkDirLockFile).string()));
  EXPECT_FALSE(dkd::FileLock().adopt(-1, lock));
  unsetenv(dkd::kWorkDirLockEnv);
  dkd::unlock_work_dir(root.string());
  fs::remove_all(root);
  fs::remove_all(elsewhere);
}

}  // namespace
