#pragma once
// Rendering of the synthetic data set: clothing-like appearance, the body drawn
// back to front (tapered limbs, torso, head, hands, feet, held props) into a
// colour image and a part-id map, self-occlusion visibility from that map,
// foreground occluders and the difficulty-dependent degradations (motion blur,
// noise, JPEG); the backgrounds are in backgrounds.h. Left and right limbs share colour and shape, so one frame alone
// is ambiguous.
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "dkd/synth/motion.h"

namespace dkd {

/// Per-video look of the person. Colours are BGR.
struct Appearance {
  cv::Scalar skin, shirt, trousers, hair, shoes;
  bool long_sleeves = true;
  bool shorts = false;
  double stripe_period = 0;    ///< pixels along the torso axis; 0 = plain shirt
  double stripe_strength = 0;  ///< 0..0.35
  double grain = 0.06;         ///< fabric noise strength
  cv::Mat grain_texture;       ///< CV_32F 64x64 tile in about [-1, 1]
};

Appearance sample_appearance(SynthRng& rng);

/// Part ids written into the id map (0 = background).
enum PartId : uint8_t {
  kPartNone = 0,
  kPartTorso = 1,
  kPartNeck,
  kPartHead,
  kPartLUpperArm,
  kPartRUpperArm,
  kPartLForearm,
  kPartRForearm,
  kPartLHand,
  kPartRHand,
  kPartLThigh,
  kPartRThigh,
  kPartLShin,
  kPartRShin,
  kPartLFoot,
  kPartRFoot,
  kPartProp = 200,     ///< held object (bat, club, barbell, guitar, bar)
  kPartOccluder = 255  ///< foreground object in front of the person
};

/// True when part `part` is attached to body joint `joint` (0..kNumBodyJoints-1).
bool part_touches_joint(int part, int joint);

/// Result of drawing the person of one frame.
struct PersonFrame {
  std::vector<Projected> joints;                                   ///< kNumBodyJoints projected body joints
  std::vector<uint8_t> visible;                                    ///< per body joint: in the image and not occluded
  std::vector<double> part_depth = std::vector<double>(256, 1e9);  ///< mean depth per part id
};

/// Draws the body (and its props for `action`) onto `image` (CV_8UC3) and
/// `ids` (CV_8UC1, same size), back to front. Visibility is computed by
/// compute_visibility afterwards (so that occluders drawn later count).
PersonFrame render_person(const SynthMotion& motion, int t, const Appearance& look, cv::Mat& image, cv::Mat& ids);

/// A joint is visible when it lies inside the image and the top-most thing at
/// its pixel (id map) is background, a part attached to it, or a part that is
/// farther away than the joint; occluders always hide.
void compute_visibility(const cv::Mat& ids, PersonFrame& frame);

/// Person silhouette (ids of body parts, without props and occluders) as 0/1.
cv::Mat person_mask(const cv::Mat& ids);

/// Difficulty knobs.
struct SynthDifficulty {
  std::string name = "standard";
  int distractors_min = 2, distractors_max = 6;
  double photo_probability = 0.5;
  double blur_scale = 0.5;  ///< motion-blur length per pixel/frame of motion
  double noise_sigma = 3.0;
  int jpeg_quality = 88;
  double occluder_probability = 0.25;
  double motion_scale = 1.0;  ///< camera pan/zoom and body yaw drift
  double lighting = 0.1;      ///< per-video brightness/contrast variation
};

/// "easy", "standard" or "hard" (UsageError otherwise).
SynthDifficulty synth_difficulty(const std::string& name);

/// A foreground object sweeping across the image for a few frames.
struct Occluder {
  bool active = false;
  int first = 0, last = -1;  ///< frames
  int kind = 0;              ///< 0 pole, 1 box, 2 blob
  double x0 = 0, x1 = 0;     ///< centre x at first/last frame (pixels)
  double y = 0, w = 0, h = 0;
  cv::Scalar color;
};

Occluder sample_occluder(SynthRng& rng, int frames, int width, int height, double person_x, double person_y,
                         double person_h, double probability);

/// Draws the occluder of frame `t` (if active) into the image and the id map.
void draw_occluder(const Occluder& occ, int t, cv::Mat& image, cv::Mat& ids);

/// Blurs the moving person along (dx, dy) pixels/frame (length scaled by
/// `scale`), only where `mask` (dilated) is set.
void motion_blur(cv::Mat& image, const cv::Mat& mask, double dx, double dy, double scale);

/// Adds Gaussian noise of `sigma` grey levels, deterministically from `seed`.
void add_noise(cv::Mat& image, double sigma, uint64_t seed);

}  // namespace dkd
