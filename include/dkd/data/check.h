#pragma once
// `dkd_data check`: validates every file of a data set folder (annotations,
// split files, frame counts, every image decoded and its size checked against
// the annotations) and reports all problems, not only the first.
#include <map>
#include <string>

#include "dkd/data/dataset.h"

namespace dkd {

struct DataCheckReport {
  std::string dataset = "penn";
  std::string root;
  int64_t videos = 0;  ///< good videos
  int64_t frames = 0;
  int64_t train_videos = 0;
  int64_t test_videos = 0;
  int joints = 0;
  std::map<std::string, int64_t> actions;  ///< action -> good videos
  std::vector<DataProblem> problems;

  /// {"dataset", "videos", "frames", "train_videos", "test_videos", "joints",
  ///  "actions": {name: videos}, "problems": [{"file", "error"}]}
  std::string to_json() const;
  /// Human-readable summary (several lines, problems listed).
  std::string summary() const;
};

/// Runs every check; `decode_images` = false skips decoding the frames.
DataCheckReport check_dataset(const std::string& dataset, const std::string& root, int split, bool decode_images = true,
                              double jhmdb_box_margin = 0.15);

/// The command: prints the summary to stdout, writes `json_path` when not
/// empty. Returns 0 when there are no problems, 1 otherwise.
int run_data_check(const std::string& dataset, const std::string& root, int split, const std::string& json_path,
                   bool decode_images = true);

}  // namespace dkd
