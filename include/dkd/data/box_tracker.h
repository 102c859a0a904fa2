#pragma once
// BoxTracker: the box each frame of a video is cropped with when no
// ground-truth box is given (dkd_infer; dkd_eval with eval.boxes = tracked).
// One implementation, one state per video, so both tools crop alike.
//
//   BoxTracker boxes(config.infer);
//   boxes.start(first_box, frame_size);           // the user's (or GT) box for frame 1
//   crop(frame_t, boxes.box());                   // the box for this frame
//   boxes.update(keypoints_t, confidence_t);      // the prediction of frame t -> box of t+1
//
// The rules (infer.box_rule; docs/method.md "Tracked boxes" has the measurements):
//   steady  (default) the extent of the joints with confidence >=
//           infer.box_min_confidence, related to the box as on the first frame
//           (the first box over its joints' extent gives the margin and where
//           the centre sits; infer.box_calibrate), the size changing by at most
//           infer.box_max_size_change per frame and smoothed with
//           infer.box_smoothing; the centre follows the joints smoothed by
//           infer.box_center_smoothing (the networks' predictions move with the
//           crop, so a box that follows them quickly follows their errors),
//           optionally carried ahead by infer.box_velocity times the recent motion.
//   extent  the confident joints' extent enlarged by infer.box_scale, each side
//           within 0.8-1.25x of the previous box, exponentially smoothed with
//           infer.box_smoothing (the earlier rule).
//   network the box the box network (models/box_net.h) found in the frame's
//           crop, held in the relation the first box had to the network's first
//           answer (infer.box_calibrate), blended with steady's joints' box (infer.box_network_weight
//           is the network's share: the pose networks' joints move with the
//           crop, the box network's answer does not, but it is coarser), its
//           sides changing by at most infer.box_max_size_change per frame,
//           centre and size smoothed with infer.box_network_smoothing.
#include <vector>

#include <opencv2/core/types.hpp>

#include "dkd/config/config.h"
#include "dkd/data/video.h"

namespace dkd {

/// How many times a tracked frame runs the box network under `rule` (0 unless
/// the network rule; the mirrored crop and the refining pass each add one).
int box_network_runs_per_frame(const InferConfig& rule);

class BoxTracker {
 public:
  explicit BoxTracker(const InferConfig& rule);

  /// A new video of frames of `image_size`: `box` crops its first frame.
  void start(const Box& box, cv::Size image_size);
  /// The prediction for the frame cropped with box() (image pixels, J joints
  /// with their heatmap peaks; with the network rule the box network's box,
  /// required) moves the box on to the next frame.
  void update(const std::vector<Point2>& keypoints, const std::vector<float>& confidence,
              const Box* network_box = nullptr);
  /// Whether update() needs the box network's box.
  bool needs_network() const { return rule_.box_rule == BoxRuleKind::network; }
  /// Whether the frame is cropped again after refine() (infer.box_network_refine).
  bool refines() const { return needs_network() && rule_.box_network_refine > 0.0 && network_started_; }
  /// The box network's box in this frame's crop from box() (network rule, after
  /// the first frame) moves box() towards it by infer.box_network_refine: the
  /// frame is then cropped again, so the pose network sees the person where
  /// they are now rather than where they were one frame ago.
  void refine(const Box& network_box);
  /// The box the current frame is cropped with.
  const Box& box() const { return box_; }

 private:
  void update_extent(const std::vector<Point2>& keypoints, const std::vector<float>& confidence);
  void update_steady(const std::vector<Point2>& keypoints, const std::vector<float>& confidence);
  void update_network(const std::vector<Point2>& keypoints, const std::vector<float>& confidence, const Box& seen);
  /// The box the confident joints say (steady): their extent in the
  /// first box's relation to it. False when fewer than 2 joints are confident.
  struct Measurement {
    double cx = 0, cy = 0, w = 0, h = 0;
    bool first = false;  ///< the first prediction of the video (it calibrated the relation)
  };
  bool measure(const std::vector<Point2>& keypoints, const std::vector<float>& confidence, Measurement& m);
  /// Whether the box network's box can be used (finite, non-empty, on the image).
  bool usable(const Box& seen) const;
  /// The box network's box in the first box's relation to its first answer.
  Measurement calibrated(const Box& seen) const;
  /// box() moved to `m`, keeping `keep` of the current box (its sides changing
  /// by at most infer.box_max_size_change); a first measurement is taken as it is.
  void move_toward(const Measurement& m, double keep);
  /// The next box's size from a measurement: bounded change, smoothed.
  void next_size(const Measurement& m, double& w, double& h) const;
  /// Keeps `b`'s centre on the image and its size at most twice the image.
  Box on_image(const Box& b) const;

  InferConfig rule_;
  cv::Size image_size_;
  Box box_;
  // steady: the smoothed centre motion.
  Point2 velocity_;
  Point2 last_center_;
  bool has_center_ = false;
  // steady: the first frame's box over its joints' extent (size and centre shift).
  bool calibrated_ = false;
  bool network_started_ = false;
  // network: the first box's centre shift (in the network box's larger side) and
  // size ratio (per axis) against the network's first answer.
  Point2 network_shift_;
  Point2 network_scale_{1.f, 1.f};
  double scale_ = 1.0;
  Point2 shift_;
};

}  // namespace dkd
