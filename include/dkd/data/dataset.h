#pragma once
// Data set level loading shared by the readers, `dkd_data check` and the
// trainer: scanning a whole data set folder while collecting every problem,
// and the split loader that enforces data.skip_bad_videos / data.max_videos.
#include <string>
#include <vector>

#include "dkd/data/video.h"

namespace dkd {

struct DataConfig;

/// One problem found in a data set: the offending file and what is wrong.
struct DataProblem {
  std::string file;
  std::string error;
};

/// Result of scanning a data set folder: every good video (both subsets) and
/// every problem found (one entry per bad video or file).
struct DatasetScan {
  std::vector<VideoRecord> videos;
  std::vector<DataProblem> problems;
};

/// Scans `root` with the reader of data set `dataset` (config/dataset_spec.h;
/// `split` selects a numbered split, e.g. Sub-JHMDB's split files). Never throws
/// for bad videos: they become problems. Throws DataError only when `root`
/// itself is unusable (missing folder), ConfigError for an unknown data set.
DatasetScan scan_dataset(const std::string& dataset, const std::string& root, int split,
                         double jhmdb_box_margin = 0.15);

/// The problem text of a data set folder that is missing or lacks `marker` (e.g.
/// "labels/"): the folder expected (data.root, absolute), the layout, and
/// docs/datasets.md for where to download the set and how to lay it out.
std::string missing_dataset_message(const std::string& name, const std::string& root, const std::string& marker,
                                    const std::string& layout);

/// Ids (sorted) of the validation videos held out of `train_videos` (the data
/// set's own training list): round(fraction * N) of them (at least 1 when
/// fraction > 0 and N >= 2, never all), those with the smallest FNV-1a hash of
/// their id, so membership is deterministic and independent of listing order.
std::vector<std::string> validation_ids(const std::vector<VideoRecord>& train_videos, double fraction);

/// The videos of one subset of data.dataset at data.root: "train" (the data
/// set's training list without the validation videos), "val" (those held out
/// by data.val_fraction, see validation_ids), "test" or "all".
/// With problems: throws DataError listing them all, unless
/// data.skip_bad_videos, in which case each skipped video is logged (warn).
/// Keeps only the first data.max_videos videos when that is > 0.
std::vector<VideoRecord> load_split(const DataConfig& config, SplitKind split);

/// Counts the regular files with extension `ext` (".jpg") directly in `dir`;
/// -1 when the folder is missing. The readers compare it with nframes.
int count_files(const std::string& dir, const std::string& ext);

/// Checks a video's frames on disk against its annotation file: `dir` holds
/// exactly frame_paths.size() files with extension `ext`, and every frame path is
/// a regular file with an image signature OpenCV knows. DataError naming the
/// folder, the annotation or the frame; `listed` and `count` word the
/// annotation's frame count in the messages ("labels list 40 frames" for a
/// missing folder, "nframes is 40" for another count on disk).
void check_frame_files(const std::vector<std::string>& frame_paths, const std::string& dir, const std::string& ext,
                       const std::string& annotation, const std::string& listed, const std::string& count);

/// Joins problems into one message, one "file: error" per line (at most `limit` lines).
std::string format_problems(const std::vector<DataProblem>& problems, std::size_t limit = 50);

}  // namespace dkd
