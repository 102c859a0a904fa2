#pragma once
// Penn Action reader: labels/NNNN.mat (matio) plus the frame list
// frames/NNNN/NNNNNN.jpg. Converts the file's 1-based pixels to 0-based.
// Handles the real files' quirks (compression, packed integer classes,
// logical stored as uint8, 1/2-byte chars, bbox with nframes-1 rows,
// invisible joints at 0 or outside the image).
#include <string>
#include <vector>

#include "dkd/data/dataset.h"
#include "dkd/data/video.h"

namespace dkd {

class PennAction {
 public:
  /// All videos of `subset` ("train", "test" or "all") under `root`; throws
  /// DataError listing every problem when any video is bad.
  PennAction(const std::string& root, const std::string& subset = "all");

  const std::vector<VideoRecord>& videos() const { return videos_; }

  /// Reads one video (id "0001"): DataError naming the file on any problem
  /// (truncated/non-MAT file, missing variable, wrong shape or class, nframes
  /// disagreeing with the frames on disk). `check_frames` = false skips the
  /// frame folder (annotations only).
  static VideoRecord read_video(const std::string& root, const std::string& id, bool check_frames = true);

  /// Reads only the annotation file at `label_path` (frame paths are filled
  /// from `root` but not checked).
  static VideoRecord read_labels(const std::string& label_path, const std::string& root, const std::string& id);

  /// Every video under `root` (both subsets) with problems collected.
  static DatasetScan scan(const std::string& root);

 private:
  std::vector<VideoRecord> videos_;
};

}  // namespace dkd
