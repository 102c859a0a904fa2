#pragma once
// Per-frame pose network: Backbone + 1x1 heatmap head ("final_layer", as
// SimpleBaseline). With the initializer config it is the PoseInitializer and
// the per-frame large baseline; with the encoder config it is the per-frame
// small baseline (the ablation "w/o DKD").
#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "dkd/config/config.h"
#include "dkd/models/backbone.h"

namespace dkd {

class PerFrameModelImpl : public torch::nn::Module {
 public:
  PerFrameModelImpl(const BackboneConfig& cfg, int64_t num_joints, const std::string& key = "model.initializer");

  /// Heatmaps [N, J, H/4, W/4] of frames [N, 3, H, W].
  torch::Tensor forward(const torch::Tensor& frames);

  int64_t num_joints() const { return num_joints_; }
  Backbone backbone{nullptr};
  torch::nn::Conv2d final_layer{nullptr};

 private:
  int64_t num_joints_;
};
TORCH_MODULE(PerFrameModel);

/// The pose initializer (large network run on the first frame) is a per-frame model.
using PoseInitializerImpl = PerFrameModelImpl;
using PoseInitializer = PerFrameModel;

}  // namespace dkd
