#include "dkd/data/dataset.h"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "dkd/config/config.h"
#include "dkd/data/penn_action.h"
#include "dkd/data/sub_jhmdb.h"
#include "dkd/util/error.h"

namespace dkd {

DatasetScan scan_dataset(const std::string& dataset, const std::string& root, int split,
                         double jhmdb_box_margin) {
  if (dataset == "penn") return PennAction::scan(root);
  if (dataset == "jhmdb") return SubJhmdb::scan(root, split, jhmdb_box_margin);
  throw UsageError("unknown data set format '" + dataset + "' (expected penn or jhmdb)");
}

int count_files(const std::string& dir, const std::string& ext) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return -1;
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file(ec) && e.path().extension() == ext) ++n;
  return n;
}

std::string format_problems(const std::vector<DataProblem>& problems, std::size_t limit) {
  std::string out;
  for (std::size_t i = 0; i < problems.size() && i < limit; ++i)
    out += "  " + problems[i].file + ": " + problems[i].error + "\n";
  if (problems.size() > limit)
    out += "  ... and " + std::to_string(problems.size() - limit) + " more\n";
  return out;
}

std::vector<VideoRecord> load_split(const DataConfig& config, const std::string& split) {
  if (split != "train" && split != "test" && split != "all")
    throw UsageError("split must be train, test or all, not '" + split + "'");
  DatasetScan scan = scan_dataset(config.dataset, config.root, config.split, config.jhmdb_box_margin);
  if (!scan.problems.empty()) {
    if (!config.skip_bad_videos)
      throw DataError(config.root,
                      "data set has " + std::to_string(scan.problems.size()) +
                          " problem(s) (run `dkd_data check`, or set data.skip_bad_videos: true):\n" +
                          format_problems(scan.problems));
    for (const auto& p : scan.problems)
      spdlog::warn("skipping bad video: {}: {}", p.file, p.error);
  }
  std::vector<VideoRecord> out;
  for (auto& v : scan.videos) {
    if (split != "all" && v.train != (split == "train")) continue;
    if (config.max_videos > 0 && static_cast<int>(out.size()) >= config.max_videos) break;
    out.push_back(std::move(v));
  }
  if (out.empty())
    throw DataError(config.root, "no usable " + split + " videos in the " + config.dataset + " data set");
  spdlog::info("{} {} split: {} videos, {} frames", config.dataset, split, out.size(), [&] {
    long n = 0;
    for (const auto& v : out) n += v.num_frames();
    return n;
  }());
  return out;
}

}  // namespace dkd
