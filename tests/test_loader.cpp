// ClipLoader: same seed -> same batches regardless of workers; per-epoch
// reshuffle; disjoint rank shards; resume skipping; worker errors surface.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "data_fixtures.h"
#include "dkd/config/config.h"
#include "dkd/data/loader.h"
#include "dkd/data/penn_action.h"
#include "dkd/util/error.h"

using namespace dkd;

namespace {

const std::vector<VideoRecord>& videos() {
  static std::vector<VideoRecord> v = [] {
    const std::string root = test::fresh_dir("loader");
    for (int i = 1; i <= 4; ++i) {
      char id[8];
      std::snprintf(id, sizeof(id), "%04d", i);
      VideoRecord r = test::make_record("penn", id, "squat", 5, i % 2 == 1, 48, 40, i);
      test::write_penn_fixture(r, root);
    }
    return PennAction(root).videos();
  }();
  return v;
}

Config config(int workers) {
  Config c;
  c.data.dataset = "penn";
  c.data.input_size = {32, 32};
  c.data.workers = workers;
  c.data.prefetch = 2;
  return c;
}

std::vector<Batch> epoch(ClipLoader& l, int e, int64_t skip = 0) {
  l.start_epoch(e, skip);
  std::vector<Batch> out;
  while (auto b = l.next()) out.push_back(std::move(*b));
  return out;
}

}  // namespace

TEST(Loader, SameSeedSameBatchesForAnyNumberOfWorkers) {
  ClipLoader a(videos(), config(0), 2, 3, true, 7);
  ClipLoader b(videos(), config(3), 2, 3, true, 7);
  EXPECT_EQ(a.num_samples(), 4 * 4);
  EXPECT_EQ(a.size(), 16 / 3);
  auto ea = epoch(a, 1), eb = epoch(b, 1);
  ASSERT_EQ(ea.size(), 5u);
  ASSERT_EQ(eb.size(), 5u);
  for (std::size_t i = 0; i < ea.size(); ++i) {
    EXPECT_EQ(ea[i].images.sizes(), (std::vector<int64_t>{3, 2, 3, 32, 32}));
    EXPECT_EQ(ea[i].heatmaps.sizes(), (std::vector<int64_t>{3, 2, 13, 8, 8}));
    EXPECT_EQ(ea[i].weights.sizes(), (std::vector<int64_t>{3, 2, 13}));
    EXPECT_TRUE(torch::equal(ea[i].images, eb[i].images));
    EXPECT_TRUE(torch::equal(ea[i].heatmaps, eb[i].heatmaps));
    EXPECT_EQ(ea[i].frames, eb[i].frames);
    EXPECT_EQ(ea[i].video_ids, eb[i].video_ids);
  }
  // Another epoch is another order; the same epoch again is the same.
  EXPECT_NE(a.epoch_indices(1), a.epoch_indices(2));
  EXPECT_EQ(a.epoch_indices(2), b.epoch_indices(2));
  auto again = epoch(b, 1);
  EXPECT_TRUE(torch::equal(again[2].images, ea[2].images));
  // Resume: skipping batches gives the tail of the same epoch.
  auto tail = epoch(b, 1, 3);
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_TRUE(torch::equal(tail[0].images, ea[3].images));
}

TEST(Loader, RanksGetDisjointShardsThatReshuffle) {
  std::set<int64_t> seen;
  for (int rank = 0; rank < 3; ++rank) {
    ClipLoader l(videos(), config(1), 2, 2, true, 5, rank, 3);
    EXPECT_EQ(l.size(), (16 / 3) / 2);
    auto idx = l.epoch_indices(0);
    EXPECT_EQ(idx.size(), 5u);
    for (auto i : idx) EXPECT_TRUE(seen.insert(i).second) << "sample " << i << " on two ranks";
    EXPECT_NE(idx, l.epoch_indices(1));
    EXPECT_EQ(epoch(l, 0).size(), 2u);
  }
  EXPECT_EQ(seen.size(), 15u);
  // Evaluation: in order, all samples, last partial batch kept.
  ClipLoader ev(videos(), config(2), 1, 7, false, 5);
  EXPECT_EQ(ev.size(), 3);
  auto batches = epoch(ev, 0);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[2].images.size(0), 20 - 14);
  EXPECT_EQ(batches[0].frames[1][0], 1);
}

TEST(Loader, UnreadableFramesSurfaceAsDataErrors) {
  auto vids = videos();
  const std::string bad = std::filesystem::temp_directory_path().string() + "/dkd_not_an_image.jpg";
  { std::ofstream(bad) << "garbage"; }
  for (auto& v : vids)
    for (auto& p : v.frame_paths) p = bad;
  for (int workers : {0, 2}) {
    ClipLoader l(vids, config(workers), 2, 2, true, 1);
    l.start_epoch(0);
    try {
      l.next();
      ADD_FAILURE() << "no error";
    } catch (const DataError& e) {
      EXPECT_EQ(e.file(), bad);
    }
  }
}

TEST(Loader, BenchReportsClipsPerSecond) {
  const std::string root = test::fresh_dir("loader_bench");
  for (int i = 1; i <= 2; ++i) {
    char id[8];
    std::snprintf(id, sizeof(id), "%04d", i);
    VideoRecord r = test::make_record("penn", id, "squat", 6, true, 48, 40, i);
    test::write_penn_fixture(r, root);
  }
  Config c = config(2);
  c.data.root = root;
  c.data.val_fraction = 0.0;  // both videos train (the bench reads the training split)
  c.data.clip_length = 3;
  c.train.dkd.batch_size = 2;
  testing::internal::CaptureStdout();
  EXPECT_EQ(run_loader_bench(c, 3), 0);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("clips/s"), std::string::npos) << out;
  EXPECT_NE(out.find("3 batches of 2 clips x 3 frames"), std::string::npos) << out;
}
