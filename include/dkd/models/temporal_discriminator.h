#pragma once
// TemporalDiscriminator: BEGAN auto-encoder D over a clip of heatmaps stacked on
// channels (T*J x s x s; s = discriminator.input_size, or the heatmap size when
// 0). Energy L(x) = mean |x - D(x)| per sample: low on what D was trained to
// reconstruct (ground-truth clips), high elsewhere.
//
// Layout (BEGAN, Berthelot et al. 2017, with ELU): encoder conv 3x3 to c, then
// per level [conv3x3, conv3x3, stride-2 conv3x3] with channels c, 2c, ... until
// the side is 8 (or odd); linear to `embedding`. The decoder mirrors it with
// nearest upsampling and ends in a 3x3 conv back to T*J channels.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "dkd/config/config.h"

namespace dkd {

struct DiscriminatorOutput {
  torch::Tensor input;           // [B, T*J, s, s]: the clip as D sees it
  torch::Tensor reconstruction;  // D(input), same shape
  torch::Tensor energy;          // [B]: mean |input - reconstruction|
};

class TemporalDiscriminatorImpl : public torch::nn::Module {
 public:
  TemporalDiscriminatorImpl(const DiscriminatorConfig& cfg, int64_t clip_length, int64_t num_joints,
                            int64_t heatmap_side, const std::string& key = "model.discriminator");

  /// clip heatmaps [B, T, J, h, w] -> input, reconstruction, energy.
  DiscriminatorOutput forward(const torch::Tensor& clip_heatmaps);
  /// Energy [B] only.
  torch::Tensor energy(const torch::Tensor& clip_heatmaps) { return forward(clip_heatmaps).energy; }

  /// The clip as D sees it: [B, T*J, s, s].
  torch::Tensor prepare(const torch::Tensor& clip_heatmaps) const;
  int64_t input_side() const { return sides_.front(); }

 private:
  torch::nn::Sequential encoder{nullptr};
  torch::nn::Linear to_embedding{nullptr};
  torch::nn::Linear from_embedding{nullptr};
  std::vector<torch::nn::Sequential> decoder_levels_;
  torch::nn::Conv2d output{nullptr};
  std::vector<int64_t> sides_;  // side at each level, input first, bottleneck last
  int64_t clip_length_, num_joints_, channels_, bottom_channels_;
};
TORCH_MODULE(TemporalDiscriminator);

}  // namespace dkd
