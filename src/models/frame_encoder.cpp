#include "dkd/models/frame_encoder.h"

namespace dkd {

FrameEncoderImpl::FrameEncoderImpl(const BackboneConfig& cfg, const std::string& key) {
  backbone = register_module("backbone", Backbone(cfg, key));
}

torch::Tensor FrameEncoderImpl::forward(const torch::Tensor& frames) { return backbone(frames); }

}  // namespace dkd
