#pragma once
// Builds the networks from the typed config. Every size, depth, width, kernel
// size and variant comes from dkd::ModelConfig; the input size (which fixes the
// distillator's pooling stages and the discriminator's input) from data.input_size.
// `pretrained` files of the initializer and encoder sections are loaded here
// (by name, into the Backbone; see weights.h) and their report is logged.
#include <array>
#include <cstdint>
#include <string>

#include "dkd/config/config.h"
#include "dkd/models/backbone.h"
#include "dkd/models/dkd_model.h"
#include "dkd/models/frame_encoder.h"
#include "dkd/models/kernel_distillator.h"
#include "dkd/models/kernel_matching.h"
#include "dkd/models/per_frame_model.h"
#include "dkd/models/temporal_discriminator.h"
#include "dkd/models/weights.h"

namespace dkd {

/// Heatmap size {height, width} = data.input_size [width, height] / 4.
std::array<int64_t, 2> heatmap_size(const Config& config);

/// Loads `cfg.pretrained` (if set) into `backbone`, choosing the prefix ("" for an
/// ImageNet ResNet or SimpleBaseline checkpoint, "backbone." for one of ours) that
/// matches most names. Logs the report; returns it (empty source when not set).
WeightLoadReport load_pretrained_backbone(Backbone& backbone, const BackboneConfig& cfg, const std::string& key);

/// PoseInitializer = per-frame large network (model.initializer), pretrained
/// loaded; a BlazePose initializer gets data.dataset's joints and data.heatmap_sigma.
PoseInitializer make_initializer(const Config& config);
/// The same from the model section alone (ResNet initializers; a BlazePose one
/// needs the data set's joints: ConfigError).
PoseInitializer make_initializer(const ModelConfig& model);
/// Per-frame model from any backbone section ("model.initializer": large
/// baseline, "model.encoder": small baseline), pretrained loaded.
PerFrameModel make_per_frame_model(const BackboneConfig& backbone, int64_t num_joints, const std::string& key,
                                   const std::vector<std::string>& joint_names = {}, double heatmap_sigma = 2.0);
/// FrameEncoder (model.encoder), pretrained loaded.
FrameEncoder make_encoder(const ModelConfig& model);
KernelDistillator make_distillator(const ModelConfig& model, int64_t feature_channels, int64_t heatmap_side);
KernelMatching make_matching(const ModelConfig& model, int64_t feature_channels);
/// DkdModel for config.model at config.data.input_size.
DkdModel make_dkd_model(const Config& config);
/// TemporalDiscriminator over clips of data.clip_length frames.
TemporalDiscriminator make_discriminator(const Config& config);

}  // namespace dkd
