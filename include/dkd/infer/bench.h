#pragma once
// dkd_infer --bench: milliseconds per frame of PoseTracker::track (encoder +
// distilled kernels, with cropping and decoding) against the initializer on
// every frame (the per-frame network, same cropping and decoding), with
// and without batch-norm folding, all measured in one run on one frame (the
// four rows timed round-robin, so load changes hit them alike), on
// config.runtime.device. Weights come from a checkpoint or are random (the
// speed does not depend on them).
#include <string>
#include <vector>

#include "dkd/config/config.h"

namespace dkd {

struct BenchOptions {
  std::string checkpoint;  ///< "" = random weights
  std::string input;       ///< take the first frame from here; "" = a random 640x480 image
  int frames = 50;         ///< timed frames per row (median reported)
  int warmup = 5;          ///< untimed frames before each row
  int streams = 0;         ///< > 1: also time that many people stepped as one batch (CPU)
  bool profile = false;    ///< also print the operator profile of both (BN folded)
  std::string export_dir;  ///< also export_tracker_step there (tools/compare_pytorch.sh)
};

struct BenchRow {
  std::string name;  ///< "dkd_track" or "initializer"
  bool folded = false;
  double median_ms = 0.0;
  double mean_ms = 0.0;
};

struct BenchResult {
  std::string device;
  int threads = 0;
  std::vector<int> input_size;  ///< [w, h]
  bool random_weights = true;
  int frames = 0;
  double gmacs_track = 0.0;        ///< multiply-adds of one track() (GMACs)
  double gmacs_initializer = 0.0;  ///< of one per-frame initializer run
  double conv_gflops = 0.0;        ///< the device's measured 3x3 convolution rate (util/blas.h)
  int streams = 0;                 ///< people in the batched row ("dkd_track_streams"); 0 = none
  std::vector<BenchRow> rows;
  const BenchRow& row(const std::string& name, bool folded) const;
};

BenchResult bench_tracker(const Config& config, const BenchOptions& options);

/// Markdown table: rows track / initializer / speed-up, columns BN unfolded / folded.
std::string format_bench(const BenchResult& result);

/// The operator profile (util/op_profile.h) of PoseTracker::track and of the
/// initializer on every frame, BN folded as dkd_infer runs, as Markdown.
std::string profile_tracker(const Config& config, const BenchOptions& options);

/// For a peer implementation of the same step (tools/compare_pytorch.py step):
/// writes `dir`/model.pt (the DKD model's state_dict, PyTorch's format),
/// `dir`/frame.png (the bench frame) and `dir`/step.json (the settings the step
/// depends on, and for start() and `steps` track() calls on that frame: the
/// crop matrix image -> input pixels, the keypoints and the mean confidence).
void export_tracker_step(const Config& config, const BenchOptions& options, const std::string& dir, int steps = 5);

/// Runs bench_tracker and prints format_bench (and profile_tracker with
/// options.profile). Returns the exit code (0).
int run_infer_bench(const Config& config, const BenchOptions& options);

/// dkd_infer --teacher ... --bench: the three imported BlazePose networks on one
/// 256x256 crop, batch 1, config.runtime.device and threads: GMACs (as pose
/// papers count them), parameters, and ms per crop (median of `frames` after
/// `warmup`, the three timed round-robin) in float. Prints a table and one JSON
/// line ("blazepose_bench"). bfloat16 is reported as not run where this CPU has
/// no bfloat16 convolutions. Returns the exit code (0).
int run_blazepose_bench(const Config& config, const BenchOptions& options);

}  // namespace dkd
