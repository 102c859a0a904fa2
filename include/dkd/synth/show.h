#pragma once
// `dkd_data show`: a contact sheet (PNG grid) of a data set's frames with the
// ground-truth skeletons drawn, one row per video, to check annotations by eye.
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "dkd/data/video.h"

namespace dkd {

struct ShowOptions {
  std::string dataset = "penn";
  std::string root;  ///< data set folder
  std::string out = "sheet.png";
  int videos = 8;        ///< rows: videos spread evenly over the set
  int frames = 6;        ///< columns: frames spread evenly over each video
  int cell_width = 160;  ///< pixels per cell
  int split = 1;         ///< jhmdb split used by the reader
  bool annotate = true;  ///< draw skeletons and boxes (off: raw frames)
};

/// Draws `video`'s annotation of frame t onto `image` (already scaled by
/// `scale` from the video's pixels): limbs (left green, right red, centre
/// blue), joints (filled when visible, hollow when not) and the box.
void draw_annotation(cv::Mat& image, const VideoRecord& video, int t, double scale);

/// Grid of `frames` evenly spaced frames (columns) of each video (rows), read
/// from their frame_paths, with annotations and a "id action" label per row.
/// DataError naming the file when a frame cannot be read.
cv::Mat make_contact_sheet(const std::vector<VideoRecord>& videos, int frames, int cell_width, bool annotate = true);

/// At most `count` videos of `all`, one per action in turn (so the rows show
/// as many different actions as possible), in `all`'s order within an action.
std::vector<VideoRecord> pick_evenly(const std::vector<VideoRecord>& all, int count);

/// `dkd_data show`: reads the data set, writes the sheet; returns the exit code.
int run_show(const ShowOptions& options);

}  // namespace dkd
