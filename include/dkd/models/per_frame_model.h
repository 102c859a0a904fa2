#pragma once
// Per-frame pose network: Backbone + 1x1 heatmap head ("final_layer", as
// SimpleBaseline). With the initializer config it is the PoseInitializer and
// the per-frame large baseline; with the encoder config it is the per-frame
// small baseline (the ablation "w/o DKD"). With `network: blazepose_*` in its
// config section it is the imported pretrained BlazePose instead
// (BlazePoseHeatmaps; backbone and final_layer stay empty).
#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "dkd/config/config.h"
#include "dkd/models/backbone.h"
#include "dkd/models/blazepose.h"

namespace dkd {

class PerFrameModelImpl : public torch::nn::Module {
 public:
  /// `joint_names` (the data set's, in order) and `heatmap_sigma` are used by a
  /// BlazePose network only, which needs them to map its landmarks to joints.
  PerFrameModelImpl(const BackboneConfig& cfg, int64_t num_joints, const std::string& key = "model.initializer",
                    const std::vector<std::string>& joint_names = {}, double heatmap_sigma = 2.0);

  /// Heatmaps [N, J, H/4, W/4] of frames [N, 3, H, W].
  torch::Tensor forward(const torch::Tensor& frames);

  int64_t num_joints() const { return num_joints_; }
  /// Whether this is the imported BlazePose (else backbone + final_layer).
  bool is_blazepose() const { return static_cast<bool>(blazepose); }

  Backbone backbone{nullptr};
  torch::nn::Conv2d final_layer{nullptr};
  BlazePoseHeatmaps blazepose{nullptr};

 private:
  int64_t num_joints_;
};
TORCH_MODULE(PerFrameModel);

/// The pose initializer (large network run on the first frame) is a per-frame model.
using PoseInitializerImpl = PerFrameModelImpl;
using PoseInitializer = PerFrameModel;

}  // namespace dkd
