#pragma once
// Fixtures of the training tests (trainer, safety, distributed stop): a scratch
// folder per test and a tiny synthetic Penn-format data set in it.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "dkd/data/synth.h"

namespace dkd::test {

/// An empty folder named `prefix`_<pid>_<running test's name> under the temp dir.
inline std::filesystem::path per_test_dir(const std::string& prefix) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / (prefix + "_" + std::to_string(::getpid()) + "_" +
                                                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

/// A tiny synthetic Penn Action set in `dir`/data (single-threaded, so the same
/// arguments give the same bytes); returns its root.
inline std::string tiny_synth_penn(const std::filesystem::path& dir, int videos, uint64_t seed, int width, int height,
                                   int min_frames, int max_frames) {
  SynthOptions synth;
  synth.format = "penn";
  synth.out = (dir / "data").string();
  synth.videos = videos;
  synth.seed = seed;
  synth.width = width;
  synth.height = height;
  synth.min_frames = min_frames;
  synth.max_frames = max_frames;
  synth.threads = 1;
  synth.progress = false;
  generate_synth_dataset(synth);
  return synth.out;
}

}  // namespace dkd::test
