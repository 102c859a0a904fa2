#pragma once
// BoxNet: where the person's box is in a crop taken around a box that may be
// off (the tracker's box for this frame), as a BoxCode (data/transforms.h:
// centre offset from the crop's centre in crop sides, log size over the crop's).
//
// Why a network of its own: the pose networks were trained on crops centred on
// the person, and their joints move with the crop (docs/method.md, "Tracked
// boxes": 0.4-0.7 of a crop's offset), so a box built from them keeps its own
// errors. This network is trained on crops moved by up to train.box_shift and
// scaled by 1 +- train.box_scale (stage box), so its answer does not depend on
// where the crop was. It serves every pose model (infer.box_rule: network).
//
// Layout (fully convolutional, as FCOS, Tian et al. 2019): the crop
// area-resampled to model.box.input_size (S), three 3x3 stride-2 convolutions
// (c, 2c, 2c channels) to an S/8 grid, two dilated 3x3 convolutions (the
// receptive field spans the crop), batch norm and ReLU after each; then per
// grid cell a 1x1 convolution gives the distances from the cell to the box's
// four edges and a weight logit. The box is the weighted mean (softmax over
// the cells) of the cells' boxes. A first version with a linear layer over the
// flattened map (regressing the code, then classifying each edge over bins)
// learnt the training videos' boxes (3.5% of the box off, closed loop) but not
// new videos' (7.5%); the convolutional cells generalise (docs/experiments.md).
#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include "dkd/config/config.h"
#include "dkd/models/packed_conv.h"

namespace dkd {

struct BoxNetOutput {
  torch::Tensor cell_edges;  ///< [N, 4, G]: each grid cell's box (left, top, right, bottom), crop sides
  torch::Tensor weights;     ///< [N, G]: the cells' weights (softmax)
  torch::Tensor edges;       ///< [N, 4]: the weighted box, crop sides from the crop's top-left
  torch::Tensor codes;       ///< [N, 4]: the same as BoxCodes (data/transforms.h: boxes_from_crop_codes)
};

/// The box codes [N, 4] as edge positions [N, 4] (left, top, right, bottom) in crop sides.
torch::Tensor box_codes_to_edges(const torch::Tensor& codes);
/// The training loss against the true edges [N, 4]: the L1 error of the
/// weighted box plus the weighted mean of the cells' own L1 errors (each cell
/// the weights trust must be right on its own); mean over the four edges.
torch::Tensor box_edge_loss(const BoxNetOutput& out, const torch::Tensor& target_edges);

class BoxNetImpl : public torch::nn::Module {
 public:
  explicit BoxNetImpl(const BoxNetConfig& config, const std::string& key = "model.box");

  /// Normalised crops [N, 3, H, W] (the pose network's input) -> edge
  /// distributions, edges and codes.
  BoxNetOutput forward(const torch::Tensor& crops);
  /// The box codes [N, 4] the tracker uses; with `flip` the mean of the crops'
  /// and their mirror images' codes (infer.box_network_flip: the network's
  /// errors on a person are partly left-right asymmetric, and average out),
  /// both in one batch. In eval mode without gradients the trunk's batch norms
  /// are folded into their convolutions (the same codes to float rounding,
  /// fewer operator calls: the tracker's step is overhead-bound).
  torch::Tensor find(const torch::Tensor& crops, bool flip);

  /// Multiply-adds of one forward (for the complexity report).
  int64_t macs() const;

 private:
  BoxNetConfig config_;
  torch::nn::Sequential trunk{nullptr};
  torch::nn::Conv2d head{nullptr};
  torch::Tensor cells_;             ///< [2, G] buffer: each cell centre's x and y, crop sides
  std::vector<FoldedConv> folded_;  ///< find(): the trunk's conv + BN pairs folded (remade when weights change)
};
TORCH_MODULE(BoxNet);

}  // namespace dkd
