// Batch-norm folding: folded and unfolded models agree to 1e-4 (DKD streaming
// start/step, the per-frame model, a depthwise-matching variant), every BN of
// the models is folded, and a training-mode model is refused.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sstream>

#include "common.h"
#include "dkd/config/config.h"
#include "dkd/infer/bn_fold.h"
#include "dkd/models/factory.h"
#include "dkd/util/error.h"

namespace {

/// Realistic, non-trivial BN statistics and affine parameters everywhere.
void randomize_batch_norm(torch::nn::Module& model) {
  torch::NoGradGuard g;
  for (auto& m : model.modules()) {
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      bn->running_mean.uniform_(-0.3, 0.3);
      bn->running_var.uniform_(0.5, 2.0);
      bn->weight.uniform_(0.6, 1.4);
      bn->bias.uniform_(-0.2, 0.2);
    }
  }
}

/// Copies every parameter and buffer of `from` into `to` (same architecture).
void copy_weights(torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard g;
  auto src_p = from.named_parameters();
  for (auto& p : to.named_parameters()) p.value().copy_(src_p[p.key()]);
  auto src_b = from.named_buffers();
  for (auto& b : to.named_buffers()) b.value().copy_(src_b[b.key()]);
}

double max_rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  const double scale = std::max(1.0, a.abs().max().item<double>());
  return (a - b).abs().max().item<double>() / scale;
}

}  // namespace

TEST(BnFold, DkdStreamingOutputsAgreeWithUnfolded) {
  for (const char* matching : {"per_joint", "depthwise"}) {
    torch::manual_seed(3);
    const auto config = dkd::test::tiny_config(dkd::parse_kind<dkd::MatchingKind>(matching, "matching"));
    auto reference = dkd::make_dkd_model(config);
    randomize_batch_norm(*reference);
    // The deconvolutions start at N(0, 0.001); make them matter.
    {
      torch::NoGradGuard g;
      for (auto& m : reference->modules()) {
        if (auto* d = m->as<torch::nn::ConvTranspose2d>()) d->weight.normal_(0.0, 0.05);
      }
    }
    auto folded = dkd::make_dkd_model(config);
    copy_weights(*reference, *folded);
    reference->eval();
    folded->eval();

    const auto report = dkd::fold_batch_norm(*folded);
    int bn_count = 0;
    for (auto& m : folded->modules()) bn_count += m->as<torch::nn::BatchNorm2d>() != nullptr;
    EXPECT_EQ(report.folded, bn_count) << matching;
    EXPECT_TRUE(report.not_folded.empty()) << matching << ": " << report.not_folded.front();

    torch::NoGradGuard g;
    const auto frames = torch::randn({4, 1, 3, 64, 64});
    auto ref_state = reference->start(frames[0]);
    auto fold_state = folded->start(frames[0]);
    EXPECT_GT(ref_state.heatmaps.abs().max().item<double>(), 1e-3) << "outputs should not be trivial";
    EXPECT_LT(max_rel_diff(ref_state.heatmaps, fold_state.heatmaps), 1e-4) << matching;
    EXPECT_LT(max_rel_diff(ref_state.features, fold_state.features), 1e-4) << matching;
    for (int t = 1; t < 4; ++t) {
      const auto a = reference->step(ref_state, frames[t]);
      const auto b = folded->step(fold_state, frames[t]);
      EXPECT_LT(max_rel_diff(a, b), 1e-4) << matching << " frame " << t;
    }
  }
}

TEST(BnFold, PerFrameModelAgreesAndFoldedConvsGainARegisteredBias) {
  torch::manual_seed(5);
  const auto config = dkd::test::tiny_config();
  auto reference = dkd::make_initializer(config.model);
  randomize_batch_norm(*reference);
  auto folded = dkd::make_initializer(config.model);
  copy_weights(*reference, *folded);
  reference->eval();
  folded->eval();
  const auto params_before = folded->named_parameters().size();
  const auto report = dkd::fold_batch_norm(*folded);
  EXPECT_GT(report.folded, 10);
  // Each folded bias-free convolution now has a registered bias parameter.
  EXPECT_EQ(folded->named_parameters().size(), params_before + report.folded);
  EXPECT_TRUE(folded->named_parameters().contains("backbone.conv1.bias"));

  torch::NoGradGuard g;
  const auto x = torch::randn({2, 3, 64, 64});
  EXPECT_LT(max_rel_diff(reference->forward(x), folded->forward(x)), 1e-4);
  // Folding twice changes nothing (a folded BN is the identity).
  const auto once = folded->forward(x);
  dkd::fold_batch_norm(*folded);
  EXPECT_LT(max_rel_diff(once, folded->forward(x)), 1e-5);
  // A state dict round trip keeps the folded model intact.
  std::stringstream buffer;
  torch::save(folded, buffer);
}

TEST(BnFold, TrainingModeIsRefused) {
  auto model = dkd::make_initializer(dkd::test::tiny_config().model);
  model->train();
  EXPECT_THROW(dkd::fold_batch_norm(*model), dkd::Error);
}
