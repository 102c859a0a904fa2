#pragma once
// Fixtures of the training tests (trainer, safety, distributed stop): a scratch
// folder per test and a tiny synthetic Penn-format data set in it.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "common.h"
#include "dkd/synth/synth.h"

namespace dkd::test {

/// A tiny synthetic Penn Action set in `dir`/data (procedural backgrounds, so it
/// does not depend on opencv-doc being installed); returns its root.
inline std::string tiny_synth_penn(const std::filesystem::path& dir, int videos, uint64_t seed, int width, int height,
                                   int min_frames, int max_frames) {
  SynthOptions synth;
  synth.format = SynthFormat::penn;
  synth.out = (dir / "data").string();
  synth.videos = videos;
  synth.seed = seed;
  synth.width = width;
  synth.height = height;
  synth.min_frames = min_frames;
  synth.max_frames = max_frames;
  synth.backgrounds = "procedural";
  synth.threads = 1;
  synth.progress = false;
  generate_synth_dataset(synth);
  return synth.out;
}

/// A config (written to `path`) that trains the initializer stage of a tiny model
/// for 4 steps on `data_root` in deterministic mode, validating only at the end.
inline std::string write_tiny_initializer_config(const std::string& path, const std::string& data_root) {
  std::ofstream(path) << "runtime: {threads: 1, seed: 3, deterministic: true, log_level: info}\n"
                         "data: {dataset: penn, root: "
                      << data_root
                      << ", input_size: [64, 64],"
                         " clip_length: 2, workers: 0}\n"
                         "model:\n"
                         "  initializer: {depth: 18, width: 0.125, stages: 2, deconv_layers: 1, deconv_filters: 8}\n"
                         "  encoder: {depth: 18, width: 0.0625, stages: 2, deconv_layers: 1, deconv_filters: 8}\n"
                         "  distillator: {channels: 8, kernel_size: 3}\n"
                         "  discriminator: {channels: 8, embedding: 16, input_size: 16}\n"
                         "train:\n"
                         "  stages: [initializer]\n"
                         "  lr: 0.001\n"
                         "  schedule: constant\n"
                         "  log_every: 1\n"
                         "  val_every: 0\n"
                         "  val_max_videos: 1\n"
                         "  initializer: {epochs: 2, batch_size: 4, max_iters: 4}\n"
                         "  dkd: {epochs: 1, batch_size: 2, max_iters: 2}\n"
                         "  adversarial: {enabled: false}\n";
  return path;
}

}  // namespace dkd::test
