#pragma once
// Motion model of the synthetic data set: an articulated 3D body (16 internal
// joints, per-video bone lengths), action-specific joint-angle trajectories
// (the cyclic keyframes of actions.h with Catmull-Rom interpolation, random
// speed, amplitude, phase and style), body yaw about the vertical axis, and a
// perspective camera that pans and zooms. Everything is driven by SynthRng, so a video is a pure
// function of its seed.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace dkd {

/// Small portable RNG (splitmix64 seeding + xoshiro256**): identical streams on
/// every platform and standard library.
class SynthRng {
 public:
  explicit SynthRng(uint64_t seed, uint64_t stream = 0);
  uint64_t next();
  /// Uniform in [0, 1).
  double uniform();
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Integer in [lo, hi] (inclusive).
  int integer(int lo, int hi);
  bool chance(double p) { return uniform() < p; }
  /// Standard normal (Box-Muller).
  double normal();

 private:
  uint64_t s_[4];
};

struct Vec3 {
  double x = 0, y = 0, z = 0;
};

/// Internal joints of the synthetic body (person's left = +x when facing +z).
enum BodyJoint : int {
  kPelvis,
  kBelly,
  kNeck,
  kHead,
  kLShoulder,
  kRShoulder,
  kLElbow,
  kRElbow,
  kLWrist,
  kRWrist,
  kLHip,
  kRHip,
  kLKnee,
  kRKnee,
  kLAnkle,
  kRAnkle,
  kLHand,
  kRHand,
  kLToe,
  kRToe,  ///< tips of hands and feet (rendering only)
  kNumBodyPoints
};
constexpr int kNumBodyJoints = 16;  ///< annotated joints are the first 16 points

/// Degrees of freedom of a pose (angles in degrees, jump in metres).
enum PoseDof : int {
  kRootPitch,
  kTorsoPitch,
  kTwist,
  kLean,
  kNeckPitch,
  kLShFlex,
  kLShAbd,
  kLShHor,
  kLShTwist,
  kLElbowFlex,
  kRShFlex,
  kRShAbd,
  kRShHor,
  kRShTwist,
  kRElbowFlex,
  kLHipFlex,
  kLHipAbd,
  kLKneeFlex,
  kRHipFlex,
  kRHipAbd,
  kRKneeFlex,
  kJump,
  kNumDofs
};
using PoseVec = std::array<double, kNumDofs>;

/// Body proportions in metres (left and right identical).
struct BodyShape {
  double spine = 0.52, neck = 0.10, head_radius = 0.105;
  double shoulder_half = 0.19, hip_half = 0.10;
  double upper_arm = 0.29, forearm = 0.26, hand = 0.08;
  double thigh = 0.44, shin = 0.42, foot = 0.15;
  // Radii of the rendered parts.
  double r_upper_arm = 0.048, r_forearm = 0.038, r_thigh = 0.075, r_shin = 0.052;
  double r_torso = 0.10, r_neck = 0.045;
};

/// Samples plausible proportions with per-video variation (height, build).
BodyShape sample_body_shape(SynthRng& rng);

/// 3D body points of one frame (metres, world frame: y up, camera on +z).
struct BodyPose3D {
  std::array<Vec3, kNumBodyPoints> p;
  Vec3 facing;  ///< unit vector the torso front points to
};

/// Forward kinematics of a pose at yaw `yaw_deg`; the pelvis is at the origin
/// before `root` is added. Ground contact is not applied here.
BodyPose3D forward_kinematics(const BodyShape& shape, const PoseVec& pose, double yaw_deg);

/// Pinhole camera looking along -z: x_img = cx + f (X - cam.x) / (cam.z - Z),
/// y_img = cy - f (Y - cam.y) / (cam.z - Z).
struct SynthCamera {
  double f = 300, cx = 160, cy = 120;
  Vec3 pos{0, 0.9, 5.0};
};

struct Projected {
  double x = 0, y = 0, depth = 0;  ///< pixels, and distance along the view axis (metres)
};

Projected project(const SynthCamera& cam, const Vec3& p);

/// A whole video's motion: 3D poses and cameras per frame.
struct SynthMotion {
  std::string action;
  BodyShape shape;
  double yaw_start = 0;  ///< body yaw of the first frame (degrees)
  std::vector<BodyPose3D> bodies;
  std::vector<SynthCamera> cameras;
  std::vector<double> jump;  ///< per frame, for reference
  bool mirrored = false;     ///< left-handed execution (main hand is the left)
  bool has_bar = false;      ///< pull-up bar at height bar_y (metres)
  double bar_y = 0;
};

/// Samples a full video of `frames` frames of `action` for a `width` x
/// `height` image. `motion_scale` scales the camera motion and body yaw drift
/// (difficulty).
SynthMotion sample_motion(SynthRng& rng, const std::string& action, int frames, int width, int height,
                          double motion_scale);

}  // namespace dkd
