#pragma once
// Fixtures of the training tests (trainer, safety, distributed stop): a scratch
// folder per test and a tiny synthetic Penn-format data set in it.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
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
  synth.format = DatasetKind::penn;
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

}  // namespace dkd::test
