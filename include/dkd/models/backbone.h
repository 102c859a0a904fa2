#pragma once
// Backbone = ResNet trunk + SimpleBaseline deconvolution head (Xiao et al. 2018).
// Parameter names follow torchvision and SimpleBaseline's PoseResNet: conv1, bn1,
// layer1..layerN, deconv_layers.{0,1,3,4,...} (ConvTranspose2d, BatchNorm2d, ReLU
// triples), and fc for the optional classifier. An ImageNet ResNet or a
// SimpleBaseline checkpoint therefore loads into a Backbone by name.
#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "dkd/config/config.h"
#include "dkd/models/packed_conv.h"
#include "dkd/models/resnet.h"

namespace dkd {

/// Checks a backbone config for heatmap use: depth, deconv kernel and that the
/// deconvolutions bring the output stride 4*2^(stages-1) back to 4
/// (deconv_layers == stages - 1). ConfigError naming `key`.<field> otherwise.
void validate_backbone_config(const BackboneConfig& cfg, const std::string& key);

/// Padding and output padding of a stride-2 deconvolution with kernel 2, 3 or 4
/// (SimpleBaseline's choice, giving exactly twice the input size).
struct DeconvPadding {
  int64_t padding = 0;
  int64_t output_padding = 0;
};
DeconvPadding deconv_padding(int kernel, const std::string& key = "deconv_kernel");

class BackboneImpl : public torch::nn::Module {
 public:
  /// `key` names the config section in errors (e.g. "model.encoder").
  /// num_classes > 0 adds torchvision's global-average-pool + `fc` classifier
  /// (then forward returns logits and the stride check is skipped: a classifier
  /// has no heatmaps).
  explicit BackboneImpl(const BackboneConfig& cfg, const std::string& key = "backbone", int64_t num_classes = 0);

  /// Features [N, out_channels(), H/4, W/4] (or logits [N, num_classes]).
  torch::Tensor forward(const torch::Tensor& x);

  int64_t out_channels() const { return out_channels_; }
  /// Channels at the end of the trunk (before the deconvolutions).
  int64_t trunk_channels() const { return trunk_channels_; }
  const BackboneConfig& config() const { return cfg_; }

  /// Inference through packed oneDNN weights (models/packed_conv.h): forward then
  /// takes the packed path for float CPU input with gradients off in eval mode,
  /// and the plain one otherwise. Off by default. `dtype` kBFloat16 runs the
  /// packed path in bfloat16 (infer.precision; float input and output).
  void set_packed_inference(bool on, torch::ScalarType dtype = torch::kFloat);
  bool packed_inference() const { return packed_; }
  torch::ScalarType packed_dtype() const { return packed_dtype_; }

 private:
  torch::Tensor forward_packed(const torch::Tensor& x);
  bool packed_ = false;
  torch::ScalarType packed_dtype_ = torch::kFloat;
  PackedConv packed_stem_;
  std::vector<PackedConv> packed_deconv_;
  /// The deconvolution head, as ConvTranspose2d or as sub-pixel convolutions (cfg.deconv_impl).
  torch::Tensor run_deconv_head(torch::Tensor x);
  /// Sub-pixel weights of deconvolution `i` for inference, rebuilt when the weight changes
  /// (its version counter moves on every in-place update: loading, BN folding, an optimizer
  /// step); undefined while gradients are wanted, so training rearranges it differentiably.
  torch::Tensor cached_subpixel_weight(std::size_t i, const torch::Tensor& weight, int64_t padding);
  struct SubpixelCache {
    const void* data = nullptr;
    int64_t version = -1;
    torch::Tensor weight;
  };
  std::vector<SubpixelCache> subpixel_cache_;
  BackboneConfig cfg_;
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  std::vector<torch::nn::Sequential> layers_;
  torch::nn::Sequential deconv_layers{nullptr};
  torch::nn::Linear fc{nullptr};
  int64_t trunk_channels_ = 0;
  int64_t out_channels_ = 0;
};
TORCH_MODULE(Backbone);

/// Turns packed inference on or off for every Backbone inside `root` (config
/// infer.packed_inference, infer.precision), and bfloat16 on or off for every
/// imported TFLite network (BlazePose; their float path needs no packing);
/// returns how many networks it set.
int set_packed_inference(torch::nn::Module& root, bool on, torch::ScalarType dtype = torch::kFloat);
/// The same from the config: infer.packed_inference and infer.precision. Throws
/// dkd::Error, naming infer.precision, when bfloat16 is asked for on a machine
/// without bfloat16 oneDNN convolutions.
int set_packed_inference(torch::nn::Module& root, const InferConfig& infer);

}  // namespace dkd
