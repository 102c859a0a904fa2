#include "dkd/data/dataset.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>

#include <opencv2/imgcodecs.hpp>
#include <spdlog/spdlog.h>

#include "dkd/config/config.h"
#include "dkd/util/error.h"

namespace dkd {

DatasetScan scan_dataset(const std::string& dataset, const std::string& root, int split, double jhmdb_box_margin) {
  DataConfig data;
  data.dataset = dataset;
  data.root = root;
  data.split = split;
  data.jhmdb_box_margin = jhmdb_box_margin;
  return dataset_spec(dataset).scan(data);
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

void check_frame_files(const std::vector<std::string>& frame_paths, const std::string& dir, const std::string& ext,
                       const std::string& annotation, const std::string& listed, const std::string& count) {
  namespace fs = std::filesystem;
  const int on_disk = count_files(dir, ext);
  if (on_disk < 0) throw DataError(dir, "frame folder missing (" + listed + ")");
  if (on_disk != static_cast<int>(frame_paths.size()))
    throw DataError(annotation, count + " but " + dir + " holds " + std::to_string(on_disk) + " " + ext + " frames");
  std::error_code ec;
  for (const auto& f : frame_paths)
    if (!fs::is_regular_file(f, ec))
      throw DataError(f, "frame missing");
    else if (!cv::haveImageReader(f))
      throw DataError(f, "unreadable image (not an image file: unknown signature)");
}

std::string format_problems(const std::vector<DataProblem>& problems, std::size_t limit) {
  std::string out;
  for (std::size_t i = 0; i < problems.size() && i < limit; ++i)
    out += "  " + problems[i].file + ": " + problems[i].error + "\n";
  if (problems.size() > limit) out += "  ... and " + std::to_string(problems.size() - limit) + " more\n";
  return out;
}

std::vector<std::string> validation_ids(const std::vector<VideoRecord>& train_videos, double fraction) {
  const std::size_t n = train_videos.size();
  if (!(fraction > 0.0) || n < 2) return {};
  const std::size_t k = std::clamp<std::size_t>(static_cast<std::size_t>(std::llround(fraction * n)), 1, n - 1);
  // FNV-1a of the id: a video's membership does not depend on listing order or platform.
  const auto hash = [](const std::string& id) {
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char ch : id) h = (h ^ ch) * 1099511628211ULL;
    return h;
  };
  std::vector<std::pair<uint64_t, std::string>> keyed;
  for (const auto& v : train_videos) keyed.emplace_back(hash(v.id), v.id);
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < k; ++i) ids.push_back(keyed[i].second);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::string missing_dataset_message(const std::string& name, const std::string& root, const std::string& marker,
                                    const std::string& layout) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string where = fs::absolute(root, ec).lexically_normal().string();
  const bool exists = fs::is_directory(root, ec);
  return "not a " + name + " folder (" +
         (exists ? "no " + marker + " directory in " + where : "data.root " + where + " does not exist") + "). The " +
         name + " data set is not included: download it (docs/datasets.md says where) and unpack it so that " + where +
         " holds " + layout + ", or point data.root at it (--set data.root=DIR)";
}

std::vector<VideoRecord> load_split(const DataConfig& config, SplitKind split) {
  DatasetScan scan = dataset_spec(config.dataset).scan(config);
  if (!scan.problems.empty()) {
    if (!config.skip_bad_videos)
      throw DataError(config.root, "data set has " + std::to_string(scan.problems.size()) +
                                       " problem(s) (run `dkd_data check`, or set data.skip_bad_videos: true):\n" +
                                       format_problems(scan.problems));
    for (const auto& p : scan.problems) spdlog::warn("skipping bad video: {}: {}", p.file, p.error);
  }
  // The validation split: whole videos held out of the data set's training list.
  std::vector<VideoRecord> official_train;
  for (const auto& v : scan.videos)
    if (v.train) official_train.push_back(v);
  const auto val_ids = validation_ids(official_train, config.val_fraction);
  const auto is_val = [&](const VideoRecord& v) {
    return v.train && std::binary_search(val_ids.begin(), val_ids.end(), v.id);
  };
  std::vector<VideoRecord> out;
  for (auto& v : scan.videos) {
    bool keep = false;
    switch (split) {
      case SplitKind::train:
        keep = v.train && !is_val(v);
        break;
      case SplitKind::val:
        keep = is_val(v);
        break;
      case SplitKind::test:
        keep = !v.train;
        break;
      case SplitKind::all:
        keep = true;
        break;
    }
    if (!keep) continue;
    if (config.max_videos > 0 && static_cast<int>(out.size()) >= config.max_videos) break;
    out.push_back(std::move(v));
  }
  if (out.empty())
    throw DataError(config.root, std::string("no usable ") + name_of(split) + " videos in the " + config.dataset +
                                     " data set" + (split == SplitKind::val ? " (set data.val_fraction > 0)" : ""));
  spdlog::info("{} {} split: {} videos, {} frames", config.dataset, name_of(split), out.size(), [&] {
    long n = 0;
    for (const auto& v : out) n += v.num_frames();
    return n;
  }());
  return out;
}

}  // namespace dkd
