#include "dkd/models/factory.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "dkd/util/error.h"

namespace dkd {

std::array<int64_t, 2> heatmap_size(const Config& config) {
  const auto& size = config.data.input_size;
  if (size.size() != 2 || size[0] < 4 || size[1] < 4) {
    throw ConfigError("data.input_size must be [width, height] of at least 4 each");
  }
  return {size[1] / 4, size[0] / 4};
}

WeightLoadReport load_pretrained_backbone(Backbone& backbone, const BackboneConfig& cfg, const std::string& key) {
  if (cfg.pretrained.empty()) return {};
  const StateDict tensors = read_state_dict(cfg.pretrained);
  const std::string prefix = best_prefix(*backbone, tensors, {"", "backbone."});
  WeightLoadReport report = load_state_dict(*backbone, tensors, prefix, cfg.pretrained);
  if (report.loaded.empty()) {
    throw Error(key + ".pretrained = " + cfg.pretrained + ": no parameter name matches this model (is it a ResNet-" +
                std::to_string(cfg.depth) + " state_dict?)");
  }
  spdlog::info("{}.pretrained: {}", key, report.summary());
  return report;
}

PerFrameModel make_per_frame_model(const BackboneConfig& backbone, int64_t num_joints, const std::string& key,
                                   const std::vector<std::string>& joint_names, double heatmap_sigma) {
  PerFrameModel model(backbone, num_joints, key, joint_names, heatmap_sigma);
  if (!model->is_blazepose()) load_pretrained_backbone(model->backbone, backbone, key);
  return model;
}

PoseInitializer make_initializer(const ModelConfig& model) {
  return make_per_frame_model(model.initializer, model.num_joints, "model.initializer");
}

PoseInitializer make_initializer(const Config& config) {
  return make_per_frame_model(config.model.initializer, config.model.num_joints, "model.initializer",
                              dataset_spec(config.data.dataset).skeleton.joint_names, config.data.heatmap_sigma);
}

FrameEncoder make_encoder(const ModelConfig& model) {
  FrameEncoder encoder(model.encoder, "model.encoder");
  load_pretrained_backbone(encoder->backbone, model.encoder, "model.encoder");
  return encoder;
}

KernelDistillator make_distillator(const ModelConfig& model, int64_t feature_channels, int64_t heatmap_side) {
  return KernelDistillator(model.distillator, feature_channels, model.num_joints, heatmap_side, "model.distillator");
}

KernelMatching make_matching(const ModelConfig& model, int64_t feature_channels) {
  return KernelMatching(model.distillator, feature_channels, model.num_joints, "model.distillator");
}

DkdModel make_dkd_model(const Config& config) {
  const auto hm = heatmap_size(config);
  auto initializer = make_initializer(config);
  auto encoder = make_encoder(config.model);
  const int64_t channels = encoder->out_channels();
  auto distillator = make_distillator(config.model, channels, std::min(hm[0], hm[1]));
  auto matching = make_matching(config.model, channels);
  LocationPrior prior{nullptr};
  if (const auto& d = config.model.distillator; d.prior == PriorKind::warped)
    prior = LocationPrior(config.model.num_joints, d.prior_channels, d.prior_fusion, d.prior_gate,
                          d.prior_features ? channels : 0);
  return DkdModel(initializer, encoder, distillator, matching, prior);
}

TemporalDiscriminator make_discriminator(const Config& config) {
  const auto hm = heatmap_size(config);
  return TemporalDiscriminator(config.model.discriminator, config.data.clip_length, config.model.num_joints,
                               std::min(hm[0], hm[1]), "model.discriminator");
}

}  // namespace dkd
