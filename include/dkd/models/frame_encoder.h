#pragma once
// FrameEncoder: the small per-frame network of DKD. Backbone features
// F(t) [N, C, H/4, W/4]; C = out_channels() feeds the distillator and matching.
// The backbone sits under "backbone." as in PerFrameModel, so a trained
// per-frame small baseline's backbone loads into the encoder by name.
#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "dkd/config/config.h"
#include "dkd/models/backbone.h"

namespace dkd {

class FrameEncoderImpl : public torch::nn::Module {
 public:
  explicit FrameEncoderImpl(const BackboneConfig& cfg, const std::string& key = "model.encoder");
  torch::Tensor forward(const torch::Tensor& frames);
  int64_t out_channels() const { return backbone->out_channels(); }
  Backbone backbone{nullptr};
};
TORCH_MODULE(FrameEncoder);

}  // namespace dkd
