#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "dkd/models/temporal_discriminator.h"
#include "dkd/util/error.h"

namespace {

/// Clips of one Gaussian blob per joint moving smoothly: [B, T, J, s, s].
torch::Tensor smooth_clips(int64_t b, int64_t t, int64_t j, int64_t s, double step) {
  auto grid = torch::arange(s, torch::kFloat);
  auto clips = torch::zeros({b, t, j, s, s});
  for (int64_t i = 0; i < b; ++i) {
    for (int64_t f = 0; f < t; ++f) {
      for (int64_t k = 0; k < j; ++k) {
        const double cx = 3.0 + 2.0 * k + step * f + i;
        const double cy = 4.0 + i + k;
        auto gx = torch::exp(-(grid - cx).pow(2) / 8.0);
        auto gy = torch::exp(-(grid - cy).pow(2) / 8.0);
        clips[i][f][k] = gy.unsqueeze(1) * gx.unsqueeze(0);
      }
    }
  }
  return clips;
}

TEST(TemporalDiscriminator, ShapesWithResizeAndNativeSize) {
  torch::manual_seed(0);
  dkd::DiscriminatorConfig cfg;
  cfg.channels = 4;
  cfg.embedding = 8;
  cfg.input_size = 32;
  dkd::TemporalDiscriminator d(cfg, 3, 2, 16);
  auto out = d->forward(torch::rand({2, 3, 2, 16, 16}));
  EXPECT_EQ(out.input.sizes(), (std::vector<int64_t>{2, 6, 32, 32}));
  EXPECT_EQ(out.reconstruction.sizes(), out.input.sizes());
  EXPECT_EQ(out.energy.sizes(), (std::vector<int64_t>{2}));
  cfg.input_size = 0;
  dkd::TemporalDiscriminator native(cfg, 3, 2, 12);
  EXPECT_EQ(native->input_side(), 12);
  EXPECT_EQ(native->forward(torch::rand({1, 3, 2, 12, 12})).reconstruction.sizes(),
            (std::vector<int64_t>{1, 6, 12, 12}));
  EXPECT_THROW(d->forward(torch::rand({1, 4, 2, 16, 16})), c10::Error);
}

TEST(TemporalDiscriminator, EnergyIsLowerOnWhatItWasTrainedOn) {
  torch::manual_seed(0);
  dkd::DiscriminatorConfig cfg;
  cfg.channels = 8;
  cfg.embedding = 16;
  cfg.input_size = 0;
  dkd::TemporalDiscriminator d(cfg, 3, 2, 16);
  const auto real = smooth_clips(4, 3, 2, 16, 1.0);
  // Same blobs, but jumping around in time: what a temporally incoherent
  // estimator would produce.
  auto jumpy = smooth_clips(4, 3, 2, 16, 4.0).index_select(1, torch::tensor({2, 0, 1}));
  const double before = d->energy(real).mean().item<double>();
  torch::optim::Adam opt(d->parameters(), torch::optim::AdamOptions(2e-3));
  for (int i = 0; i < 150; ++i) {
    opt.zero_grad();
    auto loss = d->energy(real).mean();
    loss.backward();
    opt.step();
  }
  torch::NoGradGuard g;
  const double trained = d->energy(real).mean().item<double>();
  const double other = d->energy(jumpy).mean().item<double>();
  EXPECT_LT(trained, 0.5 * before);
  EXPECT_LT(trained, other);
  EXPECT_TRUE(std::isfinite(other));
}

}  // namespace
