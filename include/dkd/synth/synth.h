#pragma once
// The built-in synthetic data set (`dkd_data synth`): articulated people doing
// the Penn Action / Sub-JHMDB actions (motion.h), rendered with clutter,
// blur, noise and compression (render.h), written in exactly the
// published on-disk layout of either format (mat_writer.h), so the same readers
// load it. Video i is a pure function of (seed, i): generation is parallel and
// byte-identical to a serial run.
//
// The backgrounds use the photographs of Debian's opencv-doc package when they
// are installed (/usr/share/doc/opencv-doc/examples/data/*.jpg); without them
// every background is procedural, so the same seed gives a different set.
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "dkd/data/video.h"

namespace dkd {

struct SynthOptions {
  std::string format = "penn";  ///< penn or jhmdb
  std::string out;              ///< output root
  int videos = 300;
  uint64_t seed = 0;
  std::string difficulty = "standard";  ///< easy, standard or hard
  int width = 320;
  int height = 240;
  int min_frames = 30;
  int max_frames = 60;
  int threads = 0;     ///< 0 = all cores
  bool force = false;  ///< replace an existing data set in `out`
  bool progress = true;
};

/// UsageError naming the option when a value is out of range.
void validate(const SynthOptions& options);

/// One generated video in memory.
struct SynthVideo {
  VideoRecord record;                ///< frame_paths are the canonical paths under options.out
  std::vector<std::string> encoded;  ///< per frame: the JPEG (penn) or PNG (jhmdb) file bytes
  std::vector<cv::Mat> masks;        ///< per frame: person silhouette, CV_8U 0/1
  std::string view;                  ///< penn `pose` (front/back/side); jhmdb viewpoint letter
  std::vector<bool> split_train;     ///< jhmdb: train in split 1, 2, 3
};

/// Generates video `index` (0-based) of the set described by `options`.
SynthVideo generate_synth_video(const SynthOptions& options, int index);

/// Writes one video's frames and annotation files under options.out.
void write_synth_video(const SynthOptions& options, const SynthVideo& video);

/// The whole set: all videos in parallel, then the split files (jhmdb).
/// Returns the records in index order.
std::vector<VideoRecord> generate_synth_dataset(const SynthOptions& options);

/// `dkd_data synth`: generates, logs a summary; returns the exit code (0).
int run_synth(const SynthOptions& options);

}  // namespace dkd
