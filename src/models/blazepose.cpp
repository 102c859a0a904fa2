#include "dkd/models/blazepose.h"

#include <cstdlib>
#include <filesystem>
#include <map>

#include "dkd/util/error.h"

namespace fs = std::filesystem;

namespace dkd {

std::string blazepose_name(BlazePoseSize size) {
  switch (size) {
    case BlazePoseSize::lite: return "blazepose_lite";
    case BlazePoseSize::full: return "blazepose_full";
    case BlazePoseSize::heavy: return "blazepose_heavy";
  }
  return "blazepose_full";
}

BlazePoseSize parse_blazepose(const std::string& name) {
  for (const BlazePoseSize s : {BlazePoseSize::lite, BlazePoseSize::full, BlazePoseSize::heavy}) {
    const std::string full = blazepose_name(s);
    if (name == full || name == full.substr(std::string("blazepose_").size())) return s;
  }
  throw UsageError("'" + name + "' is not a BlazePose size (blazepose_lite, blazepose_full, blazepose_heavy)");
}

std::string blazepose_file(BlazePoseSize size) {
  const std::string name = blazepose_name(size);
  return "pose_landmark_" + name.substr(std::string("blazepose_").size()) + ".tflite";
}

std::string blazepose_dir() {
  const char* env = std::getenv("DKD_MODELS_DIR");
  return (fs::path(env && *env ? env : "models") / "mediapipe-pose").string();
}

std::string blazepose_path(BlazePoseSize size) {
  const std::string path = (fs::path(blazepose_dir()) / blazepose_file(size)).string();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    throw DataError(path, std::string("not found: tools/fetch_models.sh downloads ") + kBlazePosePackage +
                              " from the npm registry and puts its .tflite files there (offline: copy "
                              "package/" + blazepose_file(size) + " of that package's tarball to this path)");
  }
  return path;
}

BlazePoseImpl::BlazePoseImpl(const std::string& tflite_path) {
  network = register_module("network", load_tflite_network(tflite_path));
  // Outputs are told apart by their sizes, which are BlazePose's whatever their names.
  const std::array<int64_t, 5> sizes{kBlazePosePoints * 5, 1, kBlazePoseInput * kBlazePoseInput,
                                     kBlazePoseHeatmap * kBlazePoseHeatmap * kBlazePosePoints, kBlazePosePoints * 3};
  const auto& shapes = network->output_shapes();
  std::array<bool, 5> found{};
  for (size_t o = 0; o < shapes.size(); ++o) {
    int64_t n = 1;
    for (const int64_t d : shapes[o]) n *= d;
    for (size_t k = 0; k < sizes.size(); ++k) {
      if (n == sizes[k] && !found[k]) {
        found[k] = true;
        order_[k] = static_cast<int>(o);
        break;
      }
    }
  }
  const auto& hwc = network->input_hwc();
  if (shapes.size() != 5 || !(found[0] && found[1] && found[2] && found[3] && found[4]) ||
      hwc != std::vector<int64_t>{kBlazePoseInput, kBlazePoseInput, 3} || shapes[order_[3]].size() != 4) {
    throw DataError(tflite_path, "not a BlazePose landmark network (expected input 256x256x3 and outputs of 195, 1, "
                                 "65536, 159744 and 117 values)");
  }
}

BlazePoseOutput BlazePoseImpl::forward(const torch::Tensor& rgb) {
  const std::vector<torch::Tensor> out = network->forward(rgb);
  const int64_t n = rgb.size(0);
  BlazePoseOutput r;
  r.landmarks = out[order_[0]].reshape({n, kBlazePosePoints, 5});
  r.pose_flag = out[order_[1]].reshape({n});
  r.segmentation = out[order_[2]].reshape({n, 1, kBlazePoseInput, kBlazePoseInput});
  r.heatmaps = out[order_[3]];  // 4-d outputs come back NCHW: [N, 39, 64, 64]
  r.world = out[order_[4]].reshape({n, kBlazePosePoints, 3});
  return r;
}

BlazePose load_blazepose(BlazePoseSize size) { return BlazePose(blazepose_path(size)); }

std::vector<std::vector<int>> blazepose_joint_map(const std::vector<std::string>& joint_names) {
  // Landmark indices: 0 nose, 7/8 left/right ear, 11/12 shoulders, 13/14 elbows,
  // 15/16 wrists, 23/24 hips, 25/26 knees, 27/28 ankles ("left" = the person's left).
  static const std::map<std::string, std::vector<int>> by_name{
      {"head", {0, 7, 8}},      {"neck", {11, 12}},    {"belly", {11, 12, 23, 24}},
      {"l_shoulder", {11}},     {"r_shoulder", {12}},  {"l_elbow", {13}},
      {"r_elbow", {14}},        {"l_wrist", {15}},     {"r_wrist", {16}},
      {"l_hip", {23}},          {"r_hip", {24}},       {"l_knee", {25}},
      {"r_knee", {26}},         {"l_ankle", {27}},     {"r_ankle", {28}}};
  std::vector<std::vector<int>> map;
  for (const std::string& name : joint_names) {
    const auto it = by_name.find(name);
    if (it == by_name.end()) throw Error("BlazePose has no landmark for joint '" + name + "'");
    map.push_back(it->second);
  }
  return map;
}

}  // namespace dkd
