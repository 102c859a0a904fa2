#pragma once
// The built-in synthetic data set (`dkd_data synth`): articulated people doing
// the Penn Action / Sub-JHMDB actions (actions.h, motion.h), rendered with
// clutter, blur, noise and compression (render.h) over backgrounds
// (backgrounds.h), written in exactly the published on-disk layout of either
// format (mat_writer.h), so the same readers load it. Video i is a pure
// function of (options, background images, i): generation is parallel and
// byte-identical to a serial run.
//
// The backgrounds are chosen explicitly (SynthOptions::backgrounds): the
// photographs of Debian's opencv-doc package (the default; an error naming the
// folder when they are not installed), procedural ones only, or a folder of
// images. The set's root gets synth_meta.json, which records the generator
// version, the options and the background images used; the readers and
// `dkd_data check` ignore it.
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "dkd/data/video.h"
#include "dkd/synth/actions.h"

namespace dkd {

/// Name and version of the generator, recorded in synth_meta.json. The version
/// changes whenever the same options and images give different bytes.
inline constexpr char kSynthGenerator[] = "dkd-synth 2";

/// The metadata file at the root of a generated set.
inline constexpr char kSynthMetaFile[] = "synth_meta.json";

/// Where --backgrounds photos looks: the sample photographs of Debian's opencv-doc.
inline constexpr char kOpencvDocPhotoDir[] = "/usr/share/doc/opencv-doc/examples/data";

struct SynthOptions {
  SynthFormat format = SynthFormat::penn;  ///< layout written (its name is the data set's)
  std::string out;                         ///< output root
  int videos = 300;
  uint64_t seed = 0;
  std::string difficulty = "standard";  ///< easy, standard or hard
  int width = 320;
  int height = 240;
  int min_frames = 30;
  int max_frames = 60;
  /// photos (the *.jpg of photo_dir), procedural (no photographs) or a folder
  /// of *.jpg, *.jpeg and *.png images used like the photos
  std::string backgrounds = "photos";
  std::string photo_dir = kOpencvDocPhotoDir;  ///< where "photos" looks
  int threads = 0;                             ///< 0 = all cores
  bool force = false;                          ///< replace an existing data set in `out`
  bool progress = true;
};

/// UsageError naming the option when a value is out of range, or when the
/// backgrounds' folder is missing or holds no image (background_image_paths).
void validate(const SynthOptions& options);

/// One generated video in memory.
struct SynthVideo {
  VideoRecord record;                ///< frame_paths are the canonical paths under options.out
  std::vector<std::string> encoded;  ///< per frame: the JPEG (penn) or PNG (jhmdb) file bytes
  std::vector<cv::Mat> masks;        ///< per frame: person silhouette, CV_8U 0/1
  std::string view;                  ///< penn `pose` (front/back/side); jhmdb viewpoint letter
  std::vector<bool> split_train;     ///< jhmdb: train in split 1, 2, 3
};

/// Generates video `index` (0-based) of the set described by `options`, its
/// photographic backgrounds drawn from `photos` (load_background_photos of
/// options.backgrounds; empty: procedural only).
SynthVideo generate_synth_video(const SynthOptions& options, const std::vector<cv::Mat>& photos, int index);

/// Writes one video's frames and annotation files under options.out.
void write_synth_video(const SynthOptions& options, const SynthVideo& video);

/// The whole set: the background images are loaded (errors before anything is
/// written), all videos in parallel, then the split files (jhmdb) and
/// synth_meta.json. Returns the records in index order.
std::vector<VideoRecord> generate_synth_dataset(const SynthOptions& options);

/// `dkd_data synth`: generates, logs a summary; returns the exit code (0).
int run_synth(const SynthOptions& options);

}  // namespace dkd
