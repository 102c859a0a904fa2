#pragma once
// Failure modes injected into the previous frame's heatmaps H(t-1) in the dkd
// stage (train.prior_corruption), so that a model with a location prior sees,
// besides its own rollout errors, the errors a pose tracker typically makes:
// left/right swaps, jumps to another limb, lost joints.
#include <random>

#include <torch/torch.h>

#include "dkd/config/config.h"

namespace dkd {

struct Skeleton;

/// True when any probability of `config` is above 0.
bool any_prior_corruption(const PriorCorruptionConfig& config);

/// heatmaps [B, J, h, w] -> corrupted copy. Per sample: each left/right pair of
/// `skeleton` exchanges its heatmaps with probability `swap`; then each joint
/// takes another joint's heatmap (drawn uniformly) with probability `jump`;
/// then each joint's heatmap is zeroed with probability `drop`. Every draw
/// comes from `rng`. Differentiable in `heatmaps` (a gather and a mask).
torch::Tensor corrupt_heatmaps(const torch::Tensor& heatmaps, const PriorCorruptionConfig& config,
                               const Skeleton& skeleton, std::mt19937_64& rng);

}  // namespace dkd
