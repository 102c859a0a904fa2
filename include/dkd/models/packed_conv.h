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
//
// The packed path also runs in bfloat16 (infer.precision): weights and
// activations in bfloat16, accumulation in float, on CPUs whose oneDNN has
// bfloat16 convolutions (AVX-512 and up; native on AVX512-BF16/AMX). Each
// PackedConv packs its weight in the dtype of the input it is given.
#include <array>
#include <initializer_list>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace dkd {

/// True when `x` can take the packed path: a float CPU tensor, gradients off,
/// and a LibTorch built with oneDNN.
bool packed_inference_supported(const torch::Tensor& x);

/// Whether this machine runs bfloat16 oneDNN convolutions (probed once with a
/// small convolution; LibTorch refuses them on CPUs without AVX-512).
bool packed_bfloat16_supported();
/// Throws dkd::Error naming the config key `key` (infer.precision,
/// train.<stage>.precision) when packed_bfloat16_supported() is false.
void require_packed_bfloat16(const std::string& key);

/// What a cached derived tensor (a packed or folded weight) was built from: the
/// storage and version counter of up to six source tensors (a fixed array:
/// checked on every call without allocating) and a dtype. Any in-place update
/// of a source (loading a checkpoint, an optimizer step) changes it.
struct TensorVersions {
  std::array<std::pair<const void*, int64_t>, 6> sources{};
  torch::ScalarType dtype = torch::kFloat;
  bool operator==(const TensorVersions& o) const { return sources == o.sources && dtype == o.dtype; }
  /// Undefined tensors take a slot each and count as empty.
  static TensorVersions of(std::initializer_list<torch::Tensor> tensors, torch::ScalarType dtype = torch::kFloat);
};

class PackedConv {
 public:
  /// conv(x) followed by bn (eval-mode statistics; nullptr = none), on a mkldnn
  /// tensor `x` (float or bfloat16); returns a mkldnn tensor of the same dtype.
  torch::Tensor conv(torch::nn::Conv2dImpl& conv, torch::nn::BatchNorm2dImpl* bn, const torch::Tensor& x);
  /// The same for a stride-2 transposed convolution run as its sub-pixel
  /// convolution (models/subpixel_deconv.h); takes and returns dense NCHW tensors
  /// (the phase interleaving runs on plain tensors) of x's dtype.
  torch::Tensor deconv(torch::nn::ConvTranspose2dImpl& deconv, torch::nn::BatchNorm2dImpl* bn, const torch::Tensor& x);

 private:
  friend class FoldedConv;
  using Key = TensorVersions;
  static Key key_of(const torch::Tensor& weight, const torch::Tensor& bias, const torch::nn::BatchNorm2dImpl* bn,
                    torch::ScalarType dtype);
  Key key_;
  torch::Tensor weight_, bias_;
  std::vector<int64_t> padding_, stride_;
};

/// A convolution with the batch norm after it folded in, for small inference
/// convolutions on plain tensors (where oneDNN's packed path costs more per call
/// than it saves): the folded weight and bias are kept and rebuilt, like
/// PackedConv's, whenever a source tensor changes.
class FoldedConv {
 public:
  /// bn(conv(x)) (bn eval-mode statistics; nullptr = none) as one conv2d.
  torch::Tensor conv(torch::nn::Conv2dImpl& conv, torch::nn::BatchNorm2dImpl* bn, const torch::Tensor& x);

 private:
  TensorVersions key_;
  torch::Tensor weight_, bias_;
};

/// `sequential`'s forward at inference (eval mode, gradients off) with every
/// Conv2d -> BatchNorm2d pair run as one FoldedConv (`cache`: one per
/// convolution, grown on first use) and ReLUs in place; other modules run as
/// they are. Fewer operators than the module-by-module forward, the same
/// function to float rounding.
torch::Tensor forward_folded(torch::nn::Sequential& sequential, std::vector<FoldedConv>& cache, torch::Tensor x);

}  // namespace dkd
