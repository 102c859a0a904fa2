#pragma once
// ResNet building blocks with torchvision's layout and parameter names
// (conv1, bn1, conv2, bn2, [conv3, bn3], downsample.0, downsample.1), so a
// torchvision state_dict loads by name. Channel counts are scaled by a width
// multiplier for small test and research models.
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "dkd/models/packed_conv.h"

namespace dkd {

/// Output channels of a block over its planes: 4 for a bottleneck, else 1.
constexpr int64_t resnet_expansion(bool bottleneck) { return bottleneck ? 4 : 1; }

/// One residual block: torchvision's BasicBlock (two 3x3 convolutions,
/// ResNet-18/34, expansion 1) or, with `bottleneck`, its Bottleneck (1x1 - 3x3 -
/// 1x1, ResNet-50/101/152, stride on the 3x3 as torchvision's ResNet v1.5,
/// expansion 4). Output channels: planes * expansion.
class ResNetBlockImpl : public torch::nn::Module {
 public:
  ResNetBlockImpl(int64_t in_channels, int64_t planes, int64_t stride, bool bottleneck);
  torch::Tensor forward(const torch::Tensor& x);
  /// The same on a mkldnn tensor with packed weights, batch norms folded in
  /// (inference only; models/packed_conv.h).
  torch::Tensor forward_packed(const torch::Tensor& x);

 private:
  PackedConv packed1_, packed2_, packed3_, packed_downsample_;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};  // conv3, bn3: bottleneck only
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(ResNetBlock);

/// Block type and blocks per stage of a ResNet depth.
struct ResNetLayout {
  bool bottleneck = false;
  std::vector<int64_t> blocks;  // 4 stages
  int64_t expansion() const { return resnet_expansion(bottleneck); }
};

/// Layout of ResNet-18/34/50/101/152; ConfigError naming `key` for other depths.
ResNetLayout resnet_layout(int depth, const std::string& key = "depth");

/// Trunk channels of a stage (0..3) before expansion: round(64*2^stage*width), at least 1.
int64_t resnet_planes(int stage, double width);

/// One ResNet stage ("layerN"): `blocks` blocks, the first with `stride`.
/// `in_channels` is updated to the stage's output channels.
torch::nn::Sequential make_resnet_stage(const ResNetLayout& layout, int64_t& in_channels, int64_t planes,
                                        int64_t blocks, int64_t stride);

}  // namespace dkd
