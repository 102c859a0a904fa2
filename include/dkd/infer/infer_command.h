#pragma once
// dkd_infer's body as a library function (the tool is a thin main): track one
// person through a video file, a folder of images or a camera and write
//   DIR/keypoints.json  the evaluator's predictions format (eval/predictions.h), one video
//   DIR/overlay.mp4     the frames with skeleton, confidences and box drawn
//                       (DIR/overlay.avi, Motion-JPEG, when this OpenCV cannot write MP4)
// then print frames, fps and ms per frame.
#include <string>

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

}  // namespace dkd
