#pragma once
// Every network of a run, built once from the config and shared by the stages:
// the DKD model holds the same initializer module that the initializer stage
// trains, so its weights carry over without copying. Checkpoints store each
// part under its name.
#include <map>
#include <string>

#include <torch/nn/module.h>

#include "dkd/config/config.h"
#include "dkd/models/box_net.h"
#include "dkd/models/dkd_model.h"
#include "dkd/models/per_frame_model.h"
#include "dkd/models/temporal_discriminator.h"

namespace dkd {

struct ModelSet {
  PerFrameModel initializer{nullptr};  ///< per-frame large network (stage initializer)
  PerFrameModel baseline{nullptr};     ///< per-frame small network (stage baseline)
  DkdModel dkd{nullptr};               ///< initializer + encoder + distillator + matching
  TemporalDiscriminator discriminator{nullptr};
  BoxNet box{nullptr};  ///< the tracker's box network (stage box; infer.box_rule: network)

  /// Parts by checkpoint name: initializer, baseline, encoder, distillator,
  /// matching, discriminator, box.
  std::map<std::string, torch::nn::Module*> modules();
  /// The parts an evaluation of `kind` needs.
  std::map<std::string, torch::nn::Module*> modules_for(ModelKind kind);
};

/// Builds every part on `device` (pretrained backbones loaded as configured).
ModelSet build_model_set(const Config& config, const c10::Device& device);

}  // namespace dkd
