#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dkd/models/kernel_matching.h"
#include "dkd/util/error.h"

namespace {

dkd::DistillatorConfig config(const char* variant, int k) {
  dkd::DistillatorConfig c;
  c.kernel_size = k;
  c.matching = dkd::parse_kind<dkd::MatchingKind>(variant, "matching");
  return c;
}

TEST(KernelMatching, PerJointBatchedEqualsPerSampleLoop) {
  torch::manual_seed(0);
  const int64_t b = 3, c = 6, j = 4, k = 5;
  dkd::KernelMatching m(config("per_joint", k), c, j);
  {
    torch::NoGradGuard g;
    m->scale.uniform_(0.5, 2.0);
    m->bias.uniform_(-1.0, 1.0);
  }
  auto kernels = torch::randn({b, j, c, k, k});
  auto features = torch::randn({b, c, 11, 9});
  auto batched = m->forward(kernels, features);
  ASSERT_EQ(batched.sizes(), (std::vector<int64_t>{b, j, 11, 9}));
  for (int64_t i = 0; i < b; ++i) {
    auto single = torch::conv2d(features[i].unsqueeze(0), kernels[i], {}, 1, k / 2);
    single = single * m->scale.view({1, -1, 1, 1}) + m->bias.view({1, -1, 1, 1});
    EXPECT_TRUE(torch::allclose(batched[i], single[0], 1e-5, 1e-5)) << "sample " << i;
  }
}

TEST(KernelMatching, DepthwiseBatchedEqualsPerSampleLoop) {
  torch::manual_seed(1);
  const int64_t b = 2, c = 5, j = 3, k = 3;
  dkd::KernelMatching m(config("depthwise", k), c, j);
  auto kernels = torch::randn({b, 1, c, k, k});
  auto features = torch::randn({b, c, 8, 8});
  auto batched = m->forward(kernels, features);
  ASSERT_EQ(batched.sizes(), (std::vector<int64_t>{b, j, 8, 8}));
  for (int64_t i = 0; i < b; ++i) {
    auto dw = torch::conv2d(features[i].unsqueeze(0), kernels[i][0].unsqueeze(1), {}, 1, k / 2, 1, c);
    auto single = m->project(dw) * m->scale.view({1, -1, 1, 1}) + m->bias.view({1, -1, 1, 1});
    EXPECT_TRUE(torch::allclose(batched[i], single[0], 1e-5, 1e-5)) << "sample " << i;
  }
}

TEST(KernelMatching, GradientsReachKernelsAndFeatures) {
  torch::manual_seed(2);
  dkd::KernelMatching m(config("per_joint", 3), 4, 2);
  auto kernels = torch::randn({2, 2, 4, 3, 3}, torch::requires_grad());
  auto features = torch::randn({2, 4, 6, 6}, torch::requires_grad());
  m->forward(kernels, features).pow(2).sum().backward();
  EXPECT_GT(kernels.grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(features.grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(m->scale.grad().abs().sum().item<double>(), 0.0);
}

TEST(KernelMatching, WrongKernelShapeIsRejected) {
  dkd::KernelMatching m(config("per_joint", 3), 4, 2);
  EXPECT_THROW(m->forward(torch::randn({2, 1, 4, 3, 3}), torch::randn({2, 4, 6, 6})), c10::Error);
  EXPECT_THROW(dkd::KernelMatching(config("per_joint", 6), 4, 2), dkd::ConfigError);
}

}  // namespace

TEST(KernelMatching, StaticHeadAddsAOneByOneHeadOnTheCurrentFeatures) {
  torch::manual_seed(4);
  dkd::DistillatorConfig cfg;
  cfg.kernel_size = 3;
  dkd::KernelMatching plain(cfg, 6, 4);
  cfg.static_head = true;
  dkd::KernelMatching with_head(cfg, 6, 4);
  {
    torch::NoGradGuard no_grad;
    with_head->scale.copy_(plain->scale);
  }
  const auto kernels = torch::randn({2, 4, 6, 3, 3});
  const auto features = torch::randn({2, 6, 9, 7});
  const auto want = plain->forward(kernels, features) + with_head->static_head(features);
  EXPECT_TRUE(torch::allclose(with_head->forward(kernels, features), want, 1e-5, 1e-6));
}

TEST(KernelMatching, NormalizedMatchingIgnoresFeatureAndKernelEnergy) {
  // Cosine matching: scaling the features (a brighter frame) or a kernel changes nothing.
  torch::manual_seed(5);
  dkd::DistillatorConfig cfg;
  cfg.kernel_size = 3;
  cfg.normalize = true;
  dkd::KernelMatching m(cfg, 6, 4);
  EXPECT_TRUE(m->normalized());
  const auto kernels = torch::randn({2, 4, 6, 3, 3});
  const auto features = torch::randn({2, 6, 9, 7}).relu();
  const auto a = m->forward(kernels, features);
  EXPECT_TRUE(torch::allclose(m->forward(kernels * 7.0, features * 3.0), a, 1e-4, 1e-5));
  // A unit kernel against k*k unit feature vectors: |response| <= k (Cauchy-Schwarz;
  // scale 1 and bias 0 at start).
  EXPECT_LE(a.abs().max().item<float>(), 3.f + 1e-4f);
  auto k = kernels.clone().requires_grad_(true);
  m->forward(k, features).sum().backward();
  EXPECT_GT(k.grad().abs().sum().item<float>(), 0.f);
}

TEST(KernelMatching, FoldedInferenceEqualsTheModuleByModuleForward) {
  // Eval mode with gradients off folds scale, bias and the static head into one
  // grouped convolution; with gradients on the same module runs op by op.
  torch::manual_seed(3);
  const int64_t b = 3, c = 8, j = 5, k = 3;
  auto cfg = config("per_joint", k);
  for (const bool with_static : {false, true}) {
    cfg.static_head = with_static;
    dkd::KernelMatching m(cfg, c, j);
    {
      torch::NoGradGuard g;
      m->scale.uniform_(0.5, 2.0);
      m->bias.uniform_(-1.0, 1.0);
    }
    m->eval();
    const auto kernels = torch::randn({b, j, c, k, k}), features = torch::randn({b, c, 12, 10});
    const auto reference = m->forward(kernels, features).detach();
    torch::Tensor folded;
    {
      torch::NoGradGuard g;
      folded = m->forward(kernels, features);
      m->scale.mul_(2.0);  // the folded weights must follow a parameter change
    }
    EXPECT_LT((folded - reference).abs().max().item<double>(), 1e-4) << "static head " << with_static;
    EXPECT_GT(reference.abs().max().item<double>(), 1.0);
    const auto rescaled = m->forward(kernels, features).detach();
    torch::NoGradGuard g;
    EXPECT_LT((m->forward(kernels, features) - rescaled).abs().max().item<double>(), 1e-4);
    EXPECT_GT((rescaled - reference).abs().max().item<double>(), 0.1);
  }
}
