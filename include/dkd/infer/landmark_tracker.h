#pragma once
// LandmarkTracker: follows one person through a video with BlazePose (the
// imported MediaPipe landmark network, models/blazepose.h) run on every frame,
// as MediaPipe's pose tracker does:
//
//   dkd::LandmarkTracker tracker(dkd::load_blazepose(size), skeleton.joint_names, margin, device);
//   auto r = tracker.start(frame0, box);   // crop around the given box
//   while (...) r = tracker.track(frame);  // crop placed by the previous frame's landmarks
//
// Crops are squares warped to 256x256 (RGB in [0, 1]). The first crop is the
// box enlarged by `box_margin` of its size on each side and widened to a square
// around its centre; boxes are in edge coordinates, so box 0,0,256,256 with
// margin 0 on a 256x256 image is that image unchanged. Each next crop comes
// from the two auxiliary points BlazePose predicts (MediaPipe's rule): centre
// = point 33 (the hips' centre), side = 2.5 x |point 34 - point 33|, rotated so
// that 33 -> 34 points up in the crop. When the network's person flag falls
// below 0.5 the crop coasts on for up to 10 frames at the person's last
// velocity (the hips' centre between the last two frames with a person, at most
// a tenth of the crop per frame), unrotated, and OpenCV's HOG people detector
// looks around it: a detection within half a crop of where the person should
// be becomes the next crop (MediaPipe re-runs its person detector instead).
//
// Identity: the torso's colours (HSV histogram inside shoulders and hips) are kept
// as a running model of the person. A frame whose confident pose has torso
// colours far from it (Bhattacharyya distance above 0.92) is someone else who
// took the crop over, e.g. a passer-by crossing in front: it is treated as a frame
// without the person (coast, search), and a HOG detection is taken back only when
// its upper body matches the model.
//
// Keypoints are the landmarks mapped to the data set's joints
// (blazepose_joint_map); a joint's confidence is the mean visibility
// (sigmoid of the visibility logit) of its landmarks.
#include <array>
#include <optional>
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <opencv2/core.hpp>
#include <torch/torch.h>

#include "dkd/data/transforms.h"
#include "dkd/infer/pose_tracker.h"
#include "dkd/models/blazepose.h"

namespace dkd {

struct LandmarkResult {
  TrackResult track;  ///< mapped joints; box = the crop's axis-aligned bounds
  /// 33 body landmarks: x, y (image pixels, 0-based pixel centres), visibility in [0, 1].
  std::vector<std::array<float, 3>> landmarks;
  float pose_flag = 0.f;  ///< the network's probability that a person is in the crop
  double rotation = 0.0;  ///< the crop's rotation, degrees
  /// False when the crop holds a confident person whose torso colours do not
  /// match the followed person's (someone else took the crop over).
  bool same_person = true;
  /// Bhattacharyya distance of the torso's colours to the person's model (0 =
  /// identical, 1 = disjoint); -1 when not measured (first frame, no torso, no person).
  double appearance_distance = -1.0;
  /// The person is seen: pose_flag >= 0.5 and same_person.
  bool person_seen() const { return pose_flag >= 0.5f && same_person; }
};

class LandmarkTracker {
 public:
  LandmarkTracker(BlazePose network, const std::vector<std::string>& joint_names, double box_margin,
                  const c10::Device& device);

  /// First frame: crop around `box` (edge coordinates). Resets the tracker.
  LandmarkResult start(const cv::Mat& frame, const Box& box);
  /// Next frame: crop placed by the previous landmarks. Error before start().
  LandmarkResult track(const cv::Mat& frame);

  int num_joints() const { return static_cast<int>(joint_map_.size()); }
  bool started() const { return started_; }
  /// Frames where the person was not seen (flag below 0.5 or someone else; the crop coasted).
  int64_t lost_frames() const { return lost_frames_; }

  /// The square crop for `box` with `margin` (see above).
  static CropTransform crop_for_box(const Box& box, double margin);

 private:
  LandmarkResult run(const cv::Mat& frame, const CropTransform& crop, double rotation);

  BlazePose network_{nullptr};
  std::vector<std::vector<int>> joint_map_;
  double margin_ = 0.2;
  c10::Device device_{c10::kCPU};
  bool started_ = false;
  CropTransform next_crop_;
  double next_rotation_ = 0.0;
  int64_t lost_frames_ = 0;
  bool has_centre_ = false;
  int frames_lost_in_a_row_ = 0;
  Point2 last_centre_{0.f, 0.f};  ///< the hips' centre in the last frame with a person
  Point2 velocity_{0.f, 0.f};     ///< its motion per frame between the last two such frames
  cv::Mat appearance_;            ///< running torso colour histogram of the person (empty until seen)
};

/// The most confident person OpenCV's HOG people detector (Dalal-Triggs, 64x128
/// window) finds in `frame`, as an edge-coordinate box; none when it finds none.
/// Small images are upscaled first so that people down to ~60 pixels are found.
std::optional<Box> detect_person_hog(const cv::Mat& frame);
/// Every person it finds, most confident first.
std::vector<Box> detect_people_hog(const cv::Mat& frame);

}  // namespace dkd
