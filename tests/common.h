#pragma once
// Helpers shared by the test files (and the distributed tests' worker process):
// scratch folders, small text files, the message of an expected exception, and
// the smallest model config the model tests use.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "dkd/config/config.h"
#include "dkd/util/error.h"

namespace dkd::test {

/// An empty folder <tmp>/dkd_<name>_<pid> (removed first when it exists).
inline std::string fresh_dir(const std::string& name) {
  namespace fs = std::filesystem;
  fs::path p = fs::temp_directory_path() / ("dkd_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

/// fresh_dir(name + "_" + the running test's name): one folder per test.
inline std::string per_test_dir(const std::string& name) {
  return fresh_dir(name + "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
}

/// The whole of the text file `path`; "" when it cannot be read (a worker's
/// error file that was never written reads as no message).
inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Writes `text` to `path`, replacing what was there.
inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

/// The message of the `E` that `f` throws; "" when it throws nothing.
template <class E = dkd::Error>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

/// The smallest complete model set: 64x64 input, 13 joints, a ResNet-18 x0.25
/// initializer and a two-stage encoder, an 8-channel distillator with 3x3 kernels.
inline Config tiny_config(MatchingKind matching = MatchingKind::per_joint) {
  Config c;
  c.data.input_size = {64, 64};
  c.model.num_joints = 13;
  c.model.initializer = {18, 0.25, 4, 3, 16, 4, ""};
  c.model.encoder = {18, 0.25, 2, 1, 8, 4, ""};
  c.model.distillator.channels = 8;
  c.model.distillator.kernel_size = 3;
  c.model.distillator.matching = matching;
  return c;
}

}  // namespace dkd::test
