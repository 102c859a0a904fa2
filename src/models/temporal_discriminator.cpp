#include "dkd/models/temporal_discriminator.h"

#include "dkd/util/error.h"

namespace dkd {
namespace {

torch::nn::Conv2d conv3(int64_t in, int64_t out, int64_t stride = 1) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1));
}

}  // namespace

TemporalDiscriminatorImpl::TemporalDiscriminatorImpl(const DiscriminatorConfig& cfg, int64_t clip_length,
                                                     int64_t num_joints, int64_t heatmap_side, const std::string& key)
    : clip_length_(clip_length), num_joints_(num_joints), channels_(cfg.channels) {
  if (cfg.channels < 1 || cfg.embedding < 1) {
    throw ConfigError(key + ".channels/embedding = " + std::to_string(cfg.channels) + "/" +
                      std::to_string(cfg.embedding) + ": must be at least 1");
  }
  const int64_t side = cfg.input_size > 0 ? cfg.input_size : heatmap_side;
  if (side < 1) {
    throw ConfigError(key + ".input_size = " + std::to_string(cfg.input_size) +
                      ": the discriminator input side must be positive");
  }
  if (clip_length < 1 || num_joints < 1) {
    throw ConfigError(key + ": clip length " + std::to_string(clip_length) + " and joints " +
                      std::to_string(num_joints) + " must be positive");
  }
  sides_.push_back(side);
  while (sides_.back() > 8 && sides_.back() % 2 == 0) sides_.push_back(sides_.back() / 2);
  const int64_t levels = static_cast<int64_t>(sides_.size()) - 1;
  const int64_t in_channels = clip_length * num_joints;

  encoder = torch::nn::Sequential(conv3(in_channels, channels_), torch::nn::ELU());
  for (int64_t l = 0; l < levels; ++l) {
    const int64_t c = channels_ * (l + 1);
    encoder->push_back(conv3(c, c));
    encoder->push_back(torch::nn::ELU());
    encoder->push_back(conv3(c, c + channels_, 2));
    encoder->push_back(torch::nn::ELU());
  }
  bottom_channels_ = channels_ * (levels + 1);
  encoder->push_back(conv3(bottom_channels_, bottom_channels_));
  encoder->push_back(torch::nn::ELU());
  register_module("encoder", encoder);
  const int64_t bottom = sides_.back() * sides_.back();
  to_embedding = register_module("to_embedding", torch::nn::Linear(bottom_channels_ * bottom, cfg.embedding));
  from_embedding = register_module("from_embedding", torch::nn::Linear(cfg.embedding, channels_ * bottom));
  for (int64_t l = 0; l <= levels; ++l) {
    auto level = torch::nn::Sequential(conv3(channels_, channels_), torch::nn::ELU(), conv3(channels_, channels_),
                                       torch::nn::ELU());
    decoder_levels_.push_back(register_module("decoder" + std::to_string(l), level));
  }
  output = register_module("output", conv3(channels_, in_channels));
}

torch::Tensor TemporalDiscriminatorImpl::prepare(const torch::Tensor& clip_heatmaps) const {
  TORCH_CHECK(clip_heatmaps.dim() == 5 && clip_heatmaps.size(1) == clip_length_ && clip_heatmaps.size(2) == num_joints_,
              "TemporalDiscriminator: expected heatmaps [B, ", clip_length_, ", ", num_joints_, ", h, w], got ",
              clip_heatmaps.sizes());
  auto x = clip_heatmaps.flatten(1, 2);
  const int64_t side = sides_.front();
  if (x.size(2) != side || x.size(3) != side) {
    x = torch::nn::functional::interpolate(x, torch::nn::functional::InterpolateFuncOptions()
                                                  .size(std::vector<int64_t>{side, side})
                                                  .mode(torch::kBilinear)
                                                  .align_corners(false));
  }
  return x;
}

DiscriminatorOutput TemporalDiscriminatorImpl::forward(const torch::Tensor& clip_heatmaps) {
  DiscriminatorOutput out;
  out.input = prepare(clip_heatmaps);
  const int64_t b = out.input.size(0);
  auto z = to_embedding(encoder->forward(out.input).flatten(1));
  auto y = from_embedding(z).view({b, channels_, sides_.back(), sides_.back()});
  for (size_t l = 0; l < decoder_levels_.size(); ++l) {
    y = decoder_levels_[l]->forward(y);
    // Decoder level l works at sides_[levels - l]; upsample to the next side up.
    const size_t next = sides_.size() - 2 - l;
    if (l + 1 < decoder_levels_.size()) {
      y = torch::nn::functional::interpolate(y, torch::nn::functional::InterpolateFuncOptions()
                                                    .size(std::vector<int64_t>{sides_[next], sides_[next]})
                                                    .mode(torch::kNearest));
    }
  }
  out.reconstruction = output(y);
  out.energy = (out.input - out.reconstruction).abs().flatten(1).mean(1);
  return out;
}

}  // namespace dkd
