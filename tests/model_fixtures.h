#pragma once
// Small DKD models shared by the model tests.
#include <torch/torch.h>

#include "dkd/models/dkd_model.h"

namespace dkd_test {

/// A DKD model small enough for unit tests (32x32 input -> 8x8 heatmaps);
/// `prior_channels` > 0 adds a location prior with that many hidden channels.
inline dkd::DkdModel tiny_dkd_model(const char* matching = "per_joint", int64_t joints = 3,
                                    int64_t prior_channels = 0) {
  dkd::BackboneConfig large;
  large.depth = 50;
  large.width = 0.0625;
  large.deconv_filters = 8;
  dkd::BackboneConfig small;
  small.width = 0.0625;
  small.deconv_filters = 6;
  dkd::DistillatorConfig dist;
  dist.channels = 8;
  dist.kernel_size = 3;
  dist.matching = dkd::parse_kind<dkd::MatchingKind>(matching, "matching");
  dkd::FrameEncoder encoder(small);
  return dkd::DkdModel(dkd::PoseInitializer(large, joints), encoder,
                       dkd::KernelDistillator(dist, encoder->out_channels(), joints, 8),
                       dkd::KernelMatching(dist, encoder->out_channels(), joints),
                       prior_channels > 0 ? dkd::LocationPrior(joints, prior_channels) : dkd::LocationPrior(nullptr));
}

/// Fresh SimpleBaseline-initialised networks give near-zero features in eval
/// mode (deconvolutions start at N(0, 0.001) and BN running statistics at
/// identity); a few training-mode passes give BN realistic statistics so that
/// eval-mode comparisons test something.
inline void calibrate_batch_norm(dkd::DkdModel& model) {
  torch::NoGradGuard g;
  model->train();
  for (auto& m : model->modules()) {
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) bn->options.momentum(0.5);
  }
  for (int i = 0; i < 8; ++i) model->forward(torch::randn({2, 3, 3, 32, 32}));
  model->eval();
}

}  // namespace dkd_test
