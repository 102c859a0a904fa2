#pragma once
// BlazePose (MediaPipe's pose landmark networks, npm @mediapipe/pose) imported
// from its .tflite file into LibTorch (models/tflite_network.h): a real,
// pretrained per-frame pose network.
//
// Input: [N, 3, 256, 256] RGB in [0, 1] (no mean/std), a person-centred square
// crop. Outputs (BlazePoseOutput): 39 points = 33 body landmarks + 6 auxiliary
// ones (33 = the hips' centre, 34 = a point whose distance from 33 is half the
// person's extent and whose direction is the body's up; MediaPipe places the
// next frame's crop with them), heatmaps at 64x64 for all 39 points.
//
// The landmarks' x, y are crop coordinates with 0 at the crop's left/top EDGE
// (pixel-centre coordinate = x - 0.5). Mapping the 33 landmarks to a data set's
// joints is blazepose_joint_map(): one table by joint name.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "dkd/config/kinds.h"
#include "dkd/models/tflite_network.h"

namespace dkd {

enum class BlazePoseSize { lite, full, heavy };

/// The pinned npm package the .tflite files come from, and their SHA-256 (tools/fetch_models.sh).
inline constexpr const char* kBlazePosePackage = "@mediapipe/pose@0.5.1675469404";
inline constexpr int kBlazePoseInput = 256;
inline constexpr int kBlazePoseLandmarks = 33;
inline constexpr int kBlazePosePoints = 39;
inline constexpr int kBlazePoseHeatmap = 64;

/// "blazepose_lite" / "blazepose_full" / "blazepose_heavy".
std::string blazepose_name(BlazePoseSize size);
/// Parses a name above (also "lite", "full", "heavy"); UsageError listing the choices.
BlazePoseSize parse_blazepose(const std::string& name);
/// The file name in the package: "pose_landmark_full.tflite".
std::string blazepose_file(BlazePoseSize size);
/// Where the .tflite files are looked for: $DKD_MODELS_DIR/mediapipe-pose when set,
/// else models/mediapipe-pose (relative to the working directory, the repository root).
std::string blazepose_dir();
/// blazepose_dir()/blazepose_file(size); DataError saying how to get it when missing.
std::string blazepose_path(BlazePoseSize size);

struct BlazePoseOutput {
  torch::Tensor landmarks;     ///< [N, 39, 5]: x, y, z (crop pixels), visibility logit, presence logit
  torch::Tensor pose_flag;     ///< [N]: probability that a person is in the crop
  torch::Tensor segmentation;  ///< [N, 1, 256, 256]: person mask logits
  torch::Tensor heatmaps;      ///< [N, 39, 64, 64]
  torch::Tensor world;         ///< [N, 39, 3]: metric 3-d landmarks (hips' centre at the origin)
};

class BlazePoseImpl : public torch::nn::Module {
 public:
  /// Imports a landmark .tflite file; DataError naming it when its outputs are
  /// not BlazePose's (195, 1, 256x256x1, 64x64x39, 117 values).
  explicit BlazePoseImpl(const std::string& tflite_path);
  BlazePoseOutput forward(const torch::Tensor& rgb);

  TfliteNetwork network{nullptr};

 private:
  std::array<int, 5> order_{};  ///< network output index of landmarks, flag, segmentation, heatmaps, world
};
TORCH_MODULE(BlazePose);

/// Loads blazepose_path(size).
BlazePose load_blazepose(BlazePoseSize size);

/// The size a network kind names (model.initializer.network); Error for resnet.
BlazePoseSize blazepose_size_of(NetworkKind network);

/// BlazePose as a per-frame heatmap model of a data set's joints, so it can stand
/// wherever this project's per-frame networks do (model.initializer.network:
/// DKD's initializer, the per-frame baseline of dkd_eval, a distillation teacher).
///
/// Input: the project's crops [N, 3, H, W] (ImageNet-normalised RGB,
/// config/input_norm.h). They are turned back into RGB in [0, 1], padded with
/// black to a centred square and resized to 256x256, as BlazePose expects.
/// Output: heatmaps [N, J, H/4, W/4] on the crop's heatmap grid (pixel centres,
/// CropTransform::downscaled(4)):
///  - rendered: a Gaussian of `sigma` heatmap pixels at each joint (the mean of
///    its landmarks, blazepose_joint_map), with peak = the joint's visibility
///    (mean sigmoid of the landmarks' visibility logits). Differentiable in the
///    landmarks, so fine-tuning through it trains the network.
///  - network: the sigmoid of BlazePose's own heatmap of the joint's landmark,
///    resampled (bilinear) onto the crop's grid; joints made of several
///    landmarks (head, neck, belly) are rendered as above.
class BlazePoseHeatmapsImpl : public torch::nn::Module {
 public:
  BlazePoseHeatmapsImpl(BlazePoseSize size, const std::vector<std::string>& joint_names, LandmarkHeatmapKind source,
                        double sigma);
  torch::Tensor forward(const torch::Tensor& frames);

  int64_t num_joints() const { return static_cast<int64_t>(joint_map_.size()); }
  BlazePose blazepose{nullptr};

 private:
  std::vector<std::vector<int>> joint_map_;
  torch::Tensor joint_weights_;  ///< [J, 39]: row j averages joint j's landmarks (not a buffer: not in checkpoints)
  LandmarkHeatmapKind source_;
  double sigma_;
};
TORCH_MODULE(BlazePoseHeatmaps);

/// For each joint name (a skeleton's joint_names, in order), the BlazePose
/// landmarks whose mean stands for it: shoulders, elbows, wrists, hips, knees,
/// ankles are single landmarks; head = mean(nose, left ear, right ear);
/// neck = mean(shoulders); belly = mean(shoulders, hips). Error naming a joint
/// without a definition.
std::vector<std::vector<int>> blazepose_joint_map(const std::vector<std::string>& joint_names);

}  // namespace dkd
