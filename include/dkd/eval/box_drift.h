#pragma once
// Box drift: how far the box a frame was cropped with lies from the frame's
// ground-truth box, by frame index. With eval.boxes = tracked each crop comes
// from the previous prediction (the box rule, data/box_tracker.h); a rule that
// drifts shows here as a centre offset or a scale error that grows with the
// frame index, and as ground-truth joints that fall outside the crop.
//
// Both boxes are compared as the crops they give (box_region with data.box_scale
// at the network's aspect), so the numbers say what the network sees:
//   * centre offset: distance between the crop centres, in percent of the
//     ground-truth box size max(w, h) (the PCK normaliser);
//   * scale: tracked crop side / ground-truth crop side (1 = the training
//     scale), averaged in log space: the geometric mean says whether crops run
//     large or small, the mean |log| how far off they are either way;
//   * joints in crop: percent of the valid ground-truth joints (PCK's rule)
//     inside the tracked crop.
// PckEvaluator (pck.h) accumulates it next to PCK when it is given the crop
// boxes, and carries its sums in counts() for distributed evaluation.
#include <cstddef>
#include <string>
#include <vector>

#include "dkd/data/video.h"

namespace dkd {

/// Box drift over a group of frames.
struct BoxDriftStats {
  double frames = 0.0;          ///< frames measured
  double center_offset = 0.0;   ///< mean centre offset, percent of the GT box size
  double scale_ratio = 1.0;     ///< geometric mean of tracked / GT crop side
  double scale_error = 0.0;     ///< exp(mean |log ratio|) - 1, percent
  double joints_in_crop = 0.0;  ///< percent of valid GT joints inside the crop
};

/// By frame-index bucket (default_frame_buckets, pck.h) and frame by frame.
struct BoxDriftResult {
  BoxDriftStats all;                    ///< every frame after the first
  std::vector<std::string> labels;      ///< bucket labels ("1", "2-4", ..., "41+")
  std::vector<BoxDriftStats> buckets;   ///< one per label
  std::vector<BoxDriftStats> by_frame;  ///< frame 1, 2, ... (up to kBoxDriftFrames)
  bool measured() const { return all.frames > 0; }
};

/// Frames tracked one by one for the plot; later frames count in the last bucket only.
constexpr int kBoxDriftFrames = 100;

/// Sums of box drift, added video by video.
class BoxDriftCounts {
 public:
  /// `crop_scale` and `aspect` give both boxes' crops (box_region): data.box_scale
  /// and the input's width / height.
  explicit BoxDriftCounts(double crop_scale = 1.25, double aspect = 1.0);

  void reset();

  /// Adds one video: `crop_boxes[t]` is the box frame t was cropped with (one
  /// per frame). `use_visibility`: only visible joints count for joints in crop.
  void add(const VideoRecord& gt, const std::vector<Box>& crop_boxes, bool use_visibility);

  BoxDriftResult result() const;

  /// Number of sums.
  std::size_t size() const { return sums_.size(); }
  /// Appends the sums to `out`.
  void append_to(std::vector<double>& out) const;
  /// Reads size() sums from `counts` at `pos` and adds them (or with `replace`
  /// takes them); `pos` moves past them.
  void read_from(const std::vector<double>& counts, std::size_t& pos, bool replace);

 private:
  static constexpr int kSums = 6;  // frames, offset, log ratio, |log ratio|, joints inside, joints
  double* slot(int frame_index) { return &sums_[static_cast<std::size_t>(frame_index) * kSums]; }
  double crop_scale_, aspect_;
  std::vector<double> sums_;  ///< (kBoxDriftFrames + 1) x kSums: frames 1..100, then every later frame
};

/// Mean of several results (the Sub-JHMDB splits), frame counts summed.
BoxDriftResult average_box_drift(const std::vector<const BoxDriftResult*>& results);

}  // namespace dkd
