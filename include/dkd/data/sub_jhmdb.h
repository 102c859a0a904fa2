#pragma once
// Sub-JHMDB reader: sub_splits/<action>_test_split_<N>.txt lists the videos
// ("<video>.avi 1" train, "... 2" test; names may contain ! @ ( ) + and dots,
// split on the last ".avi"); joint_positions.mat gives pos_img (2 x 15 x T,
// 1-based); the person box of a frame is the extent of the non-zero pixels of
// puppet_mask.mat's part_mask (H x W x T). Without a mask file the box is the
// joints' extent enlarged by `box_margin` (a warning is logged).
#include <string>
#include <vector>

#include "dkd/data/dataset.h"
#include "dkd/data/video.h"

namespace dkd {

/// One entry of a split file.
struct JhmdbSplitEntry {
  std::string action;
  std::string video;
  bool train = false;
};

class SubJhmdb {
 public:
  /// Videos of split 1..3 and subset "train", "test" or "all"; DataError
  /// listing every problem when any video is bad.
  SubJhmdb(const std::string& root, int split, const std::string& subset = "all", double box_margin = 0.15);

  const std::vector<VideoRecord>& videos() const { return videos_; }

  /// Parses one split file (DataError naming it on a malformed line).
  static std::vector<JhmdbSplitEntry> read_split_file(const std::string& path, const std::string& action);
  /// Every split file of `split` under root/sub_splits, sorted by action.
  static std::vector<JhmdbSplitEntry> read_splits(const std::string& root, int split);

  /// Reads one video; DataError naming the file on any problem.
  static VideoRecord read_video(const std::string& root, const std::string& action, const std::string& video,
                                bool train, double box_margin = 0.15, bool check_frames = true);

  /// Every video listed by the split files of `split`, problems collected.
  static DatasetScan scan(const std::string& root, int split, double box_margin = 0.15);

 private:
  std::vector<VideoRecord> videos_;
};

/// Box of the joints of frame t enlarged by `margin` (total size x (1 + margin),
/// same centre), clipped to the image when its size is known.
Box joints_extent_box(const VideoRecord& video, int t, double margin);

}  // namespace dkd
