#pragma once
// Drawing primitives shared by the person (render.h) and the backgrounds
// (backgrounds.h): colours (HSV, jitter, shading, random cloth and skin tones)
// and anti-aliased capsules drawn at sub-pixel precision into an image and a
// part-id map.
#include <cstdint>

#include <opencv2/core.hpp>

#include "dkd/synth/motion.h"

namespace dkd {

/// Fractional bits of the OpenCV drawing calls, and one pixel in those units.
constexpr int kSubpixelBits = 4;
constexpr double kSubpixelOne = 1 << kSubpixelBits;

/// (x, y) in pixels as an OpenCV point with kSubpixelBits fractional bits.
cv::Point subpixel_point(double x, double y);

/// BGR of hue `h` in [0, 360) and saturation, value `s`, `v` in [0, 1].
cv::Scalar hsv_to_bgr(double h, double s, double v);

/// `c` with Gaussian noise of `amount` grey levels per channel (clamped).
cv::Scalar jitter(SynthRng& rng, cv::Scalar c, double amount);

/// `c` scaled by `s` (clamped): below 1 darker, above 1 lighter.
cv::Scalar shade(const cv::Scalar& c, double s);

/// A clothing colour: black, white, grey, denim or a random hue.
cv::Scalar random_cloth(SynthRng& rng);

/// One of six skin tones, jittered.
cv::Scalar random_skin(SynthRng& rng);

/// A tapered capsule from `a` (radius `ra`) to `b` (radius `rb`), pixels:
/// a darker one-pixel outline and the fill into `image` (anti-aliased), and
/// `id` into `ids` (outline included).
void draw_capsule(cv::Mat& image, cv::Mat& ids, const Projected& a, const Projected& b, double ra, double rb,
                  const cv::Scalar& color, uint8_t id);

}  // namespace dkd
