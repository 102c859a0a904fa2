#pragma once
// dkd_infer's body as a library function (the tool is a thin main): track one
// person through a video file, a folder of images or a camera and write
//   DIR/keypoints.json  the evaluator's predictions format (eval/predictions.h), one video
//   DIR/overlay.mp4     the frames with skeleton, confidences and box drawn
//                       (DIR/overlay.avi, Motion-JPEG, when this OpenCV cannot write MP4)
// then print frames, fps and ms per frame. With --teacher the tracker is BlazePose
// (the imported MediaPipe network) instead of a trained checkpoint.
#include <string>
#include <vector>

#include "dkd/config/config.h"
#include "dkd/data/video.h"

namespace dkd {

struct InferOptions {
  std::string checkpoint;       ///< trained DKD checkpoint (dkd_train's work dir)
  bool random_weights = false;  ///< no checkpoint: an untrained model (pipeline checks only)
  std::string input;            ///< video file, folder of images, or camera:N
  std::string out;              ///< output folder
  std::string box;              ///< "x1,y1,x2,y2" of the person in the first frame; "" = whole frame
  std::string video_id;         ///< id in keypoints.json; "" = the input's file or folder name
  int max_frames = 0;           ///< stop after this many frames; 0 = all (a camera runs until Ctrl-C)
  bool overlay = true;          ///< write the overlay video
  bool progress = true;
  /// "blazepose_lite|full|heavy": track with BlazePose on every frame instead of a
  /// DKD checkpoint (infer/landmark_tracker.h); keypoints.json then also holds the
  /// 33 raw landmarks per frame under "landmarks". Without --box the first frame's
  /// person comes from OpenCV's HOG people detector.
  std::string teacher;
  double box_margin = 0.2;
  /// Frame indices (0-based) whose drawn overlay is also saved as DIR/frame_NNNNN.png.
  std::vector<int> snapshots;  ///< --teacher: context added on each side of the box, as a fraction of its size
};

/// Parses "x1,y1,x2,y2" (pixels, 0-based); UsageError naming the text otherwise.
Box parse_box(const std::string& text);

/// The video id dkd_infer uses for an input: file stem ("vtest" for
/// .../vtest.avi), folder name, or "cameraN".
std::string default_video_id(const std::string& input);

/// Runs the tracker over the input and writes the outputs. Returns the exit code (0).
/// UsageError for a bad box or option, DataError for bad input, Error for a
/// checkpoint that does not match the config.
int run_infer(const Config& config, const InferOptions& options);

/// The config of `dkd_infer --teacher` without --config: defaults (Penn Action's
/// joints) with `overrides` applied; `data.dataset=jhmdb` alone also sets
/// model.num_joints to Sub-JHMDB's 15 (BlazePose has no trained joint count).
Config teacher_config(const std::vector<std::string>& overrides);

}  // namespace dkd
