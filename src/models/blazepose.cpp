#include "dkd/models/blazepose.h"

#include <cstdlib>
#include <filesystem>
#include <map>

#include "dkd/config/input_norm.h"
#include "dkd/util/error.h"

namespace fs = std::filesystem;

namespace dkd {

std::string blazepose_name(BlazePoseSize size) {
  switch (size) {
    case BlazePoseSize::lite:
      return "blazepose_lite";
    case BlazePoseSize::full:
      return "blazepose_full";
    case BlazePoseSize::heavy:
      return "blazepose_heavy";
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
                              "package/" +
                              blazepose_file(size) + " of that package's tarball to this path)");
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
    throw DataError(tflite_path,
                    "not a BlazePose landmark network (expected input 256x256x3 and outputs of 195, 1, "
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

BlazePoseSize blazepose_size_of(NetworkKind network) {
  switch (network) {
    case NetworkKind::blazepose_lite:
      return BlazePoseSize::lite;
    case NetworkKind::blazepose_full:
      return BlazePoseSize::full;
    case NetworkKind::blazepose_heavy:
      return BlazePoseSize::heavy;
    case NetworkKind::resnet:
      break;
  }
  throw Error("blazepose_size_of: '" + std::string(name_of(network)) + "' is not a BlazePose network");
}

BlazePoseHeatmapsImpl::BlazePoseHeatmapsImpl(BlazePoseSize size, const std::vector<std::string>& joint_names,
                                             LandmarkHeatmapKind source, double sigma)
    : joint_map_(blazepose_joint_map(joint_names)), source_(source), sigma_(sigma) {
  if (!(sigma > 0)) throw Error("BlazePoseHeatmaps: sigma must be positive");
  // Joint j = mean of its landmarks: one [J, 39] averaging matrix, built once.
  joint_weights_ = torch::zeros({static_cast<int64_t>(joint_map_.size()), kBlazePosePoints});
  for (std::size_t j = 0; j < joint_map_.size(); ++j)
    for (const int i : joint_map_[j]) joint_weights_[j][i] = 1.0 / joint_map_[j].size();
  blazepose = register_module("blazepose", load_blazepose(size));
}

torch::Tensor BlazePoseHeatmapsImpl::forward(const torch::Tensor& frames) {
  namespace F = torch::nn::functional;
  TORCH_CHECK(frames.dim() == 4 && frames.size(1) == 3, "BlazePoseHeatmaps: expected [N, 3, H, W] frames, got ",
              frames.sizes());
  const int64_t n = frames.size(0), H = frames.size(2), W = frames.size(3);
  TORCH_CHECK(H % 4 == 0 && W % 4 == 0, "BlazePoseHeatmaps: crop size must be a multiple of 4, got ", H, "x", W);
  const int64_t h = H / 4, w = W / 4, J = num_joints();
  const auto opts = frames.options();
  const auto mean = torch::tensor({kImageNetMean[0], kImageNetMean[1], kImageNetMean[2]}, opts).view({1, 3, 1, 1});
  const auto std = torch::tensor({kImageNetStd[0], kImageNetStd[1], kImageNetStd[2]}, opts).view({1, 3, 1, 1});
  torch::Tensor rgb = frames * std + mean;
  // Centred square (black padding), then 256x256.
  const int64_t S = std::max(H, W), left = (S - W) / 2, top = (S - H) / 2;
  if (S != W || S != H) rgb = F::pad(rgb, F::PadFuncOptions({left, S - W - left, top, S - H - top}));
  if (S != kBlazePoseInput) {
    rgb = F::interpolate(rgb, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{kBlazePoseInput, kBlazePoseInput})
                                  .mode(torch::kBilinear)
                                  .align_corners(false));
  }
  const BlazePoseOutput out = blazepose->forward(rgb);
  // Landmarks: 256-crop edge coordinates -> crop edge coordinates -> heatmap pixel centres.
  const double r = static_cast<double>(kBlazePoseInput) / S;
  const auto lx = out.landmarks.select(2, 0) / r - left;  // [N, 39]
  const auto ly = out.landmarks.select(2, 1) / r - top;
  const auto vis = torch::sigmoid(out.landmarks.select(2, 3));
  if (joint_weights_.device() != frames.device() || joint_weights_.dtype() != lx.dtype())
    joint_weights_ = joint_weights_.to(frames.device(), lx.dtype());
  const auto wt = joint_weights_.t();  // [39, J]
  const auto hx = (lx.matmul(wt) / 4.0 - 0.5).view({n, J, 1, 1});
  const auto hy = (ly.matmul(wt) / 4.0 - 0.5).view({n, J, 1, 1});
  const auto peak = vis.matmul(wt).view({n, J, 1, 1});
  const auto xs = torch::arange(w, opts).view({1, 1, 1, w});
  const auto ys = torch::arange(h, opts).view({1, 1, h, 1});
  torch::Tensor heatmaps =
      peak * torch::exp(-((xs - hx).pow(2) + (ys - hy).pow(2)) / (2.0 * sigma_ * sigma_));  // [N, J, h, w]
  if (source_ == LandmarkHeatmapKind::rendered) return heatmaps;

  // network: BlazePose's own heatmaps of single-landmark joints, sampled at the
  // crop's heatmap pixel centres. Pixel centre hx -> crop edge coordinate 4 (hx + 0.5)
  // -> 256-crop coordinate -> grid_sample's [-1, 1] over the 64x64 map (align_corners=false).
  const auto gx = ((xs.view({w}) + 0.5) * 4.0 + left) * r / kBlazePoseInput * 2.0 - 1.0;
  const auto gy = ((ys.view({h}) + 0.5) * 4.0 + top) * r / kBlazePoseInput * 2.0 - 1.0;
  const auto grid = torch::stack({gx.view({1, w}).expand({h, w}), gy.view({h, 1}).expand({h, w})}, 2)
                        .unsqueeze(0)
                        .expand({n, h, w, 2});
  const auto sampled = F::grid_sample(
      torch::sigmoid(out.heatmaps), grid,
      F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(false));
  std::vector<torch::Tensor> per_joint;
  for (int64_t j = 0; j < J; ++j) {
    const auto& lms = joint_map_[j];
    per_joint.push_back(lms.size() == 1 ? sampled.select(1, lms[0]) : heatmaps.select(1, j));
  }
  return torch::stack(per_joint, 1);
}

std::vector<std::vector<int>> blazepose_joint_map(const std::vector<std::string>& joint_names) {
  // Landmark indices: 0 nose, 7/8 left/right ear, 11/12 shoulders, 13/14 elbows,
  // 15/16 wrists, 23/24 hips, 25/26 knees, 27/28 ankles ("left" = the person's left).
  static const std::map<std::string, std::vector<int>> by_name{
      {"head", {0, 7, 8}},  {"neck", {11, 12}},   {"belly", {11, 12, 23, 24}},
      {"l_shoulder", {11}}, {"r_shoulder", {12}}, {"l_elbow", {13}},
      {"r_elbow", {14}},    {"l_wrist", {15}},    {"r_wrist", {16}},
      {"l_hip", {23}},      {"r_hip", {24}},      {"l_knee", {25}},
      {"r_knee", {26}},     {"l_ankle", {27}},    {"r_ankle", {28}}};
  std::vector<std::vector<int>> map;
  for (const std::string& name : joint_names) {
    const auto it = by_name.find(name);
    if (it == by_name.end()) throw Error("BlazePose has no landmark for joint '" + name + "'");
    map.push_back(it->second);
  }
  return map;
}

}  // namespace dkd
