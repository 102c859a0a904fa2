#include "dkd/models/per_frame_model.h"

#include "dkd/util/error.h"

namespace dkd {

PerFrameModelImpl::PerFrameModelImpl(const BackboneConfig& cfg, int64_t num_joints, const std::string& key,
                                     const std::vector<std::string>& joint_names, double heatmap_sigma)
    : num_joints_(num_joints) {
  if (num_joints < 1) {
    throw ConfigError("model.num_joints = " + std::to_string(num_joints) + ": must be at least 1");
  }
  if (cfg.network != NetworkKind::resnet) {
    if (static_cast<int64_t>(joint_names.size()) != num_joints)
      throw ConfigError(key + ".network: " + name_of(cfg.network) + " needs the data set's " +
                        std::to_string(num_joints) + " joint names to map its landmarks (got " +
                        std::to_string(joint_names.size()) + ")");
    blazepose = register_module("blazepose", BlazePoseHeatmaps(blazepose_size_of(cfg.network), joint_names,
                                                               cfg.landmark_heatmaps, heatmap_sigma));
    return;
  }
  backbone = register_module("backbone", Backbone(cfg, key));
  final_layer = register_module("final_layer",
                                torch::nn::Conv2d(torch::nn::Conv2dOptions(backbone->out_channels(), num_joints, 1)));
  // SimpleBaseline's head initialisation: small weights so the first heatmaps are near 0.
  torch::nn::init::normal_(final_layer->weight, 0.0, 0.001);
  torch::nn::init::zeros_(final_layer->bias);
}

torch::Tensor PerFrameModelImpl::forward(const torch::Tensor& frames) {
  if (blazepose) return blazepose->forward(frames);
  return final_layer(backbone(frames));
}

}  // namespace dkd
