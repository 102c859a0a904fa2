#include "dkd/models/dkd_model.h"

#include <vector>

#include "dkd/util/op_profile.h"

namespace dkd {

DkdModelImpl::DkdModelImpl(PoseInitializer initializer_, FrameEncoder encoder_, KernelDistillator distillator_,
                           KernelMatching matching_, LocationPrior prior_) {
  initializer = register_module("initializer", std::move(initializer_));
  encoder = register_module("encoder", std::move(encoder_));
  distillator = register_module("distillator", std::move(distillator_));
  matching = register_module("matching", std::move(matching_));
  if (prior_) prior = register_module("prior", std::move(prior_));
}

std::map<std::string, torch::nn::Module*> DkdModelImpl::parts() {
  std::map<std::string, torch::nn::Module*> out = {{"initializer", initializer.ptr().get()},
                                                   {"encoder", encoder.ptr().get()},
                                                   {"distillator", distillator.ptr().get()},
                                                   {"matching", matching.ptr().get()}};
  if (prior) out["prior"] = prior.ptr().get();
  return out;
}

torch::Tensor DkdModelImpl::fuse_prior(const torch::Tensor& response, const torch::Tensor& previous,
                                       const torch::Tensor& previous_crops, const torch::Tensor& crops,
                                       const torch::Tensor& features) {
  if (!prior) return response;
  const bool warp = previous_crops.defined() && crops.defined();
  return prior->forward(response, warp ? warp_heatmaps(previous, previous_crops, crops) : previous, features);
}

void DkdModelImpl::set_initializer_frozen(bool frozen) {
  initializer_frozen_ = frozen;
  for (auto& p : initializer->parameters()) p.set_requires_grad(!frozen);
  if (frozen)
    initializer->eval();
  else
    initializer->train(is_training());
}

void DkdModelImpl::train(bool on) {
  torch::nn::Module::train(on);
  if (initializer_frozen_) initializer->eval();
}

torch::Tensor DkdModelImpl::run_initializer(const torch::Tensor& frames) {
  if (initializer_frozen_) {
    torch::NoGradGuard no_grad;
    return initializer->forward(frames);
  }
  return initializer->forward(frames);
}

DkdOutput DkdModelImpl::forward(const torch::Tensor& clip, const DkdForwardOptions& options) {
  TORCH_CHECK(clip.dim() == 5 && clip.size(2) == 3, "DkdModel: clip must be [B, T, 3, H, W], got ", clip.sizes());
  const int64_t b = clip.size(0), t_len = clip.size(1);
  // All frames through the encoder as one batch: the same result as frame by
  // frame (batch norm aside) and far faster.
  auto features = encoder->forward(clip.flatten(0, 1));
  features = features.view({b, t_len, features.size(1), features.size(2), features.size(3)});

  torch::Tensor mask = options.teacher_mask;
  if (mask.defined()) {
    TORCH_CHECK(options.gt_heatmaps.defined(), "DkdModel: teacher forcing needs gt_heatmaps");
    TORCH_CHECK(mask.dim() == 2 && mask.size(0) == b && mask.size(1) >= t_len - 1,
                "DkdModel: teacher_mask must be [B, T], got ", mask.sizes());
    mask = mask.to(clip.device(), torch::kBool);
  }
  if (options.crops.defined()) {
    TORCH_CHECK(options.crops.dim() == 4 && options.crops.size(0) == b && options.crops.size(1) == t_len &&
                    options.crops.size(2) == 2 && options.crops.size(3) == 3,
                "DkdModel: crops must be [B, T, 2, 3], got ", options.crops.sizes());
  }

  std::vector<torch::Tensor> heatmaps;
  heatmaps.reserve(t_len);
  heatmaps.push_back(run_initializer(clip.select(1, 0)));
  for (int64_t t = 1; t < t_len; ++t) {
    auto previous = heatmaps.back();
    if (mask.defined()) {
      const auto gt = options.gt_heatmaps.select(1, t - 1).to(previous.dtype());
      previous = torch::where(mask.select(1, t - 1).view({b, 1, 1, 1}), gt, previous);
    }
    if (options.corrupt_previous) previous = options.corrupt_previous(previous, t);
    const auto kernels = distillator->forward(features.select(1, t - 1), previous);
    const auto response = matching->forward(kernels, features.select(1, t));
    torch::Tensor previous_crops, crops;
    if (options.crops.defined()) {
      previous_crops = options.crops.select(1, t - 1);
      crops = options.crops.select(1, t);
    }
    heatmaps.push_back(fuse_prior(response, previous, previous_crops, crops, features.select(1, t)));
  }
  return {torch::stack(heatmaps, 1), features};
}

DkdState DkdModelImpl::start(const torch::Tensor& frame, const torch::Tensor& crops) {
  TORCH_CHECK(frame.dim() == 4, "DkdModel::start: frame must be [B, 3, H, W], got ", frame.sizes());
  return {encoder->forward(frame), run_initializer(frame), crops};
}

torch::Tensor DkdModelImpl::step(DkdState& state, const torch::Tensor& frame, const torch::Tensor& crops) {
  TORCH_CHECK(state.features.defined() && state.heatmaps.defined(), "DkdModel::step: call start() on the first frame");
  torch::Tensor features, kernels, response, heatmaps;
  {
    DKD_PROFILE_SCOPE("encoder");
    features = encoder->forward(frame);
  }
  {
    DKD_PROFILE_SCOPE("distillator");
    kernels = distillator->forward(state.features, state.heatmaps);
  }
  {
    DKD_PROFILE_SCOPE("matching");
    response = matching->forward(kernels, features);
  }
  {
    DKD_PROFILE_SCOPE("prior");
    heatmaps = fuse_prior(response, state.heatmaps, state.crops, crops, features);
  }
  state.features = features;
  state.heatmaps = heatmaps;
  state.crops = crops;
  return heatmaps;
}

}  // namespace dkd
