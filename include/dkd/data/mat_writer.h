#pragma once
// Writes VideoRecord annotations in exactly the published on-disk layouts of
// Penn Action and (Sub-)JHMDB, with matio. Used by the synthetic generator (the
// default, normal path) and by tests (options that reproduce each quirk of the
// real files). Coordinates are converted from the record's 0-based pixels to
// the files' MATLAB 1-based convention here and only here.
//
// Layout (see /work/shared/docs/datasets.md):
//   Penn:  <root>/labels/NNNN.mat, <root>/frames/NNNN/NNNNNN.jpg
//   JHMDB: <root>/joint_positions/<action>/<video>/joint_positions.mat,
//          <root>/puppet_mask/<action>/<video>/puppet_mask.mat,
//          <root>/Rename_Images/<action>/<video>/NNNNN.png,
//          <root>/sub_splits/<action>_test_split_<N>.txt
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "dkd/data/mat_file.h"
#include "dkd/data/video.h"

namespace dkd {

/// Quirks of the real files; the defaults give the normal layout.
struct MatQuirks {
  bool compress = true;                       ///< zlib-compressed variables (level-5 "v7")
  MatStorage integers = MatStorage::kDouble;  ///< storage of integer-valued doubles
  bool logical_as_uint8 = false;              ///< visibility / part_mask as plain uint8
  bool short_bbox = false;                    ///< Penn bbox with nframes-1 rows
  bool two_byte_chars = false;                ///< char data with 2 bytes per character
};

// ---- canonical paths (t is the 0-based frame index) ----
std::string penn_label_path(const std::string& root, const std::string& id);
std::string penn_frame_path(const std::string& root, const std::string& id, int t);
std::string jhmdb_frame_path(const std::string& root, const std::string& action, const std::string& video, int t);
std::string jhmdb_joints_path(const std::string& root, const std::string& action, const std::string& video);
std::string jhmdb_mask_path(const std::string& root, const std::string& action, const std::string& video);
std::string jhmdb_split_path(const std::string& root, const std::string& action, int split);

/// Penn `labels/NNNN.mat` with x, y, visibility, bbox, dimensions, nframes,
/// train, action, pose. Uses record.joints/visible/boxes/width/height/train/
/// action and num_frames(). Parent folders are created.
void write_penn_labels(const VideoRecord& video, const std::string& path, const std::string& pose = "front",
                       const MatQuirks& quirks = {});

/// JHMDB `joint_positions.mat`: pos_img 2 x J x T (1-based), pos_world 2 x J x T
/// (pos_img centred on the frame's box and divided by `scale`), scale 1 x T
/// (box height / image height), viewpoint char.
void write_jhmdb_joints(const VideoRecord& video, const std::string& path, const std::string& viewpoint = "E",
                        const MatQuirks& quirks = {});

/// JHMDB `puppet_mask.mat`: part_mask H x W x T uint8 (logical unless
/// quirks.logical_as_uint8) from explicit per-frame masks (CV_8U, H x W, non-zero = person).
void write_jhmdb_part_mask(const std::vector<cv::Mat>& masks, const std::string& path, const MatQuirks& quirks = {});

/// The same, with each frame's mask the filled person box: pixels with
/// round(x1) <= col <= round(x2), round(y1) <= row <= round(y2), so reading it
/// back gives the box exactly when the box has integer corners.
void write_jhmdb_box_mask(const VideoRecord& video, const std::string& path, const MatQuirks& quirks = {});

/// Writes `joint_positions.mat` and `puppet_mask.mat` of a JHMDB record (id
/// "<action>/<video>") at their canonical paths under `root`.
void write_jhmdb_video(const VideoRecord& video, const std::string& root, const MatQuirks& quirks = {});

/// Writes `sub_splits/<action>_test_split_<split>.txt` for every action among
/// `videos`: one line `<video>.avi 1` (train) or `<video>.avi 2` (test) each.
void write_jhmdb_split_files(const std::vector<VideoRecord>& videos, const std::string& root, int split);

/// Video name of a JHMDB record id "<action>/<video>" (the part after the first '/').
std::string jhmdb_video_name(const VideoRecord& video);

}  // namespace dkd
