#pragma once
// Pseudo-labels from real footage: `dkd_data pseudo-label` runs the imported
// BlazePose network (models/blazepose.h) over a video or a folder of frames,
// follows every person it is given or finds (one LandmarkTracker each, all on
// one shared network), and writes one Penn Action video per track, in exactly
// the published layout (frames/NNNN/NNNNNN.jpg, labels/NNNN.mat), so that
// dkd_train, dkd_eval and dkd_data check read it like any other data set.
//
// Per track and frame the labels are the landmarks mapped to the data set's
// joints (blazepose_joint_map); a joint is visible when its teacher visibility
// (the mean sigmoid of its landmarks' visibility logits) is at least
// `min_visibility` and the person is seen (flag >= 0.5, same torso colours); the box is the extent of
// the 33 landmarks with visibility >= 0.5 (all 33 when fewer than 4), enlarged
// by `box_padding` of its size on each side and clipped to the frame.
//
// Tracks start from the given boxes, else from OpenCV's HOG people detector on
// the first frame and, with detect_every > 0, every N frames (a detection that
// overlaps a live track is that track's person). A track ends when the person
// flag stays below 0.5 for more than `max_lost` frames (its trailing lost frames
// are dropped), when it meets another track (two crops on one person: the one
// whose box jumped more in that frame ends, since identity switches are jumps),
// or at the end of the input. With `test_from` >= 0 every track is cut there:
// frames before are a training video (Penn's train = 1), frames from it on a test
// video (train = -1), so no test frame is ever trained on. Tracks shorter than
// `min_frames` are not written.
//
// DIR/pseudo_label.json records the teacher, the input, the options and every
// written video (source frames, split, why it ended). Ctrl-C stops reading and
// writes every track so far.
#include <cstdint>
#include <string>
#include <vector>

#include "dkd/config/kinds.h"
#include "dkd/data/video.h"

namespace dkd {

struct PseudoLabelOptions {
  std::string teacher = "blazepose_heavy";  ///< blazepose_lite, blazepose_full or blazepose_heavy
  std::string input;                        ///< video file or folder of images
  std::string out;                          ///< data set folder (Penn Action layout)
  std::string joints = "penn";              ///< whose joint set the labels use (the layout is Penn's)
  std::vector<Box> boxes;                   ///< first-frame person boxes; empty = HOG detector
  int max_people = 8;                       ///< live tracks at most
  int detect_every = 10;                    ///< look for new people every N frames; 0 = first frame only
  int min_frames = 10;                      ///< shorter tracks are not written
  int max_lost = 3;                         ///< frames in a row without a person before a track ends
  int64_t max_frames = 0;                   ///< read at most N frames; 0 = all
  int64_t test_from = -1;                   ///< first frame of the test segment; -1 = no test segment
  double min_visibility = 0.5;              ///< teacher visibility for a visible joint
  double box_margin = 0.2;                  ///< context around a first box (dkd_infer --box-margin)
  double box_padding = 0.05;                ///< label box around the landmarks, fraction of its size
  double same_person_iou = 0.5;             ///< overlap at which two boxes are one person
  std::string action = "walk";              ///< Penn's `action` of every video
  int jpeg_quality = 95;
  std::string device = "cpu";
  bool force = false;    ///< replace a data set already in `out`
  bool progress = true;  ///< progress bar with ETA
};

struct PseudoLabelVideo {
  std::string id;           ///< Penn id, "0001", ...
  int track = 0;            ///< track number (a track cut at test_from gives two videos)
  int64_t first_frame = 0;  ///< source frame of the video's first frame
  int num_frames = 0;
  bool train = true;
  std::string ended;  ///< "lost", "met track N", "test split", "end of input", "stopped"
  double mean_visibility = 0.0;
};

struct PseudoLabelReport {
  int64_t frames_read = 0;
  int tracks = 0;                        ///< tracks started
  int too_short = 0;                     ///< track pieces under min_frames, not written
  std::vector<PseudoLabelVideo> videos;  ///< written, in id order
  bool stopped = false;                  ///< by a signal
};

/// Runs the teacher over `options.input` and writes the data set (see above).
/// UsageError for bad options or an `out` that holds a data set without `force`;
/// DataError naming the input when it cannot be read.
PseudoLabelReport pseudo_label(const PseudoLabelOptions& options);

/// dkd_data pseudo-label: pseudo_label() and a summary on stdout; the exit code.
int run_pseudo_label(const PseudoLabelOptions& options);

/// Intersection over union of two boxes (0 when either is empty).
double box_iou(const Box& a, const Box& b);

}  // namespace dkd
