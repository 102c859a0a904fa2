#pragma once
// Packed oneDNN inference for the ResNet backbones (model.*.packed_inference).
//
// LibTorch runs a CPU float convolution through oneDNN, but on plain NCHW
// tensors: every call reorders the input, the weights and the output between
// NCHW and oneDNN's blocked layout. For inference the weights can be reordered
// once (mkldnn_reorder_conv2d_weight) and the activations kept in the blocked
// layout from the stem to the end of the trunk (mkldnn tensors); convolution,
// ReLU, max pooling and the residual sum all run on them. The batch norms are
// folded into the packed weights, so nothing else changes: the outputs equal the
// plain forward to float rounding (tests check 1e-4).
//
// PackedConv keeps one convolution's packed weight and repacks it whenever a
// parameter or running statistic it was built from changes (their version
// counters move on every in-place update: loading a checkpoint, an optimizer
// step), so a packed model never runs stale weights.
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace dkd {

/// True when `x` can take the packed path: a float CPU tensor, gradients off,
/// and a LibTorch built with oneDNN.
bool packed_inference_supported(const torch::Tensor& x);

class PackedConv {
 public:
  /// conv(x) followed by bn (eval-mode statistics; nullptr = none), on a mkldnn
  /// tensor `x`; returns a mkldnn tensor.
  torch::Tensor conv(torch::nn::Conv2dImpl& conv, torch::nn::BatchNorm2dImpl* bn, const torch::Tensor& x);
  /// The same for a stride-2 transposed convolution run as its sub-pixel
  /// convolution (models/subpixel_deconv.h); takes and returns dense NCHW tensors
  /// (the phase interleaving runs on plain tensors).
  torch::Tensor deconv(torch::nn::ConvTranspose2dImpl& deconv, torch::nn::BatchNorm2dImpl* bn, const torch::Tensor& x);

 private:
  /// Whether the parameters the packed weight was built from are unchanged.
  bool current(const std::vector<torch::Tensor>& sources) const;
  void remember(const std::vector<torch::Tensor>& sources);
  std::vector<std::pair<const void*, int64_t>> key_;
  torch::Tensor weight_, bias_;
  std::vector<int64_t> padding_, stride_;
};

}  // namespace dkd
