// Packed oneDNN inference (models/packed_conv.h): the packed forward of ResNet
// backbones with their deconvolution heads equals the plain one, follows weight
// changes, and is never taken where gradients or training statistics are wanted.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/Context.h>

#include "dkd/models/backbone.h"
#include "dkd/util/error.h"
#include "model_fixtures.h"

namespace {

dkd::BackboneConfig config(int depth, int kernel, int stem_kernel = 7) {
  dkd::BackboneConfig c;
  c.depth = depth;
  c.width = 0.125;
  c.deconv_layers = 3;
  c.deconv_filters = 8;
  c.deconv_kernel = kernel;
  c.stem_kernel = stem_kernel;
  return c;
}

/// Random weights and batch-norm statistics far from the identity, so that a
/// batch norm left out of the packed weights, or folded wrongly, shows.
void randomise(torch::nn::Module& m, uint64_t seed) {
  torch::NoGradGuard g;
  torch::manual_seed(seed);
  for (auto& p : m.parameters()) p.copy_(torch::randn_like(p) * 0.2);
  for (auto& mod : m.modules()) {
    if (auto* bn = mod->as<torch::nn::BatchNorm2d>()) {
      bn->running_mean.copy_(torch::randn_like(bn->running_mean) * 0.3);
      bn->running_var.copy_(torch::rand_like(bn->running_var) + 0.5);
    }
  }
}

void expect_close(const torch::Tensor& a, const torch::Tensor& b) {
  ASSERT_EQ(a.sizes(), b.sizes());
  const double scale = a.abs().max().item<double>();
  ASSERT_GT(scale, 1e-3);  // a real signal, not two near-zero maps
  EXPECT_LT((a - b).abs().max().item<double>(), 1e-4 * std::max(1.0, scale));
}

}  // namespace

class PackedInference : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!at::hasMKLDNN()) GTEST_SKIP() << "this LibTorch has no oneDNN";
  }
};

TEST_F(PackedInference, EqualsThePlainForwardForBasicAndBottleneckBlocksAndEveryDeconvKernel) {
  for (const auto& c : {config(18, 4), config(50, 4), config(18, 3, 3), config(34, 2, 5)}) {
    dkd::Backbone net(c);
    randomise(*net, 7);
    net->eval();
    torch::NoGradGuard g;
    const auto x = torch::randn({2, 3, 64, 48});
    const auto plain = net->forward(x);
    net->set_packed_inference(true);
    const auto packed = net->forward(x);
    EXPECT_FALSE(packed.is_mkldnn());
    SCOPED_TRACE("depth " + std::to_string(c.depth) + ", deconv kernel " + std::to_string(c.deconv_kernel));
    expect_close(plain, packed);
  }
}

TEST_F(PackedInference, FollowsWeightAndStatisticChangesAfterPacking) {
  dkd::Backbone net(config(18, 4));
  randomise(*net, 1);
  net->eval();
  net->set_packed_inference(true);
  torch::NoGradGuard g;
  const auto x = torch::randn({1, 3, 64, 64});
  const auto before = net->forward(x);  // packs
  randomise(*net, 2);                   // as loading a checkpoint does: in place
  const auto after = net->forward(x);
  EXPECT_GT((after - before).abs().max().item<double>(), 1e-2);
  net->set_packed_inference(false);
  expect_close(net->forward(x), after);
}

TEST_F(PackedInference, TrainingAndGradientsTakeThePlainPath) {
  dkd::Backbone net(config(18, 4));
  randomise(*net, 3);
  net->set_packed_inference(true);
  const auto x = torch::randn({2, 3, 64, 64});
  net->eval();
  const auto y = net->forward(x);  // gradients on: plain, differentiable
  EXPECT_TRUE(y.requires_grad());
  y.sum().backward();
  for (const auto& p : net->parameters()) ASSERT_TRUE(p.grad().defined());
  // Training mode uses batch statistics, which packed weights cannot.
  net->train();
  torch::NoGradGuard g;
  const auto train_out = net->forward(x);
  net->set_packed_inference(false);
  net->train();
  expect_close(net->forward(x), train_out);
}

TEST_F(PackedInference, SwitchesEveryBackboneOfADkdModel) {
  auto model = dkd_test::tiny_dkd_model();
  dkd_test::calibrate_batch_norm(model);
  EXPECT_EQ(dkd::set_packed_inference(*model, true), 2);  // initializer and frame encoder
  for (const auto& m : model->modules()) {
    if (auto* b = m->as<dkd::BackboneImpl>()) {
      EXPECT_TRUE(b->packed_inference());
    }
  }
  EXPECT_EQ(dkd::set_packed_inference(*model, false), 2);
}

TEST_F(PackedInference, BFloat16IsCloseToFloatAndRepacksWhenThePrecisionChanges) {
  if (!dkd::packed_bfloat16_supported()) GTEST_SKIP() << "no oneDNN bfloat16 convolutions on this CPU";
  for (const auto& c : {config(18, 4), config(50, 3, 3)}) {
    SCOPED_TRACE("depth " + std::to_string(c.depth));
    dkd::Backbone net(c);
    randomise(*net, 11);
    net->eval();
    torch::NoGradGuard g;
    const auto x = torch::randn({2, 3, 64, 48});
    const auto plain = net->forward(x);
    net->set_packed_inference(true, torch::kBFloat16);
    const auto bf16 = net->forward(x);
    EXPECT_EQ(bf16.scalar_type(), torch::kFloat);  // float out, whatever ran inside
    const double scale = plain.abs().max().item<double>();
    ASSERT_GT(scale, 1e-3);
    const double err = (bf16 - plain).abs().max().item<double>() / scale;
    EXPECT_LT(err, 5e-2);  // bfloat16 keeps 8 bits of mantissa: about 0.4% per rounding
    EXPECT_GT(err, 1e-6);  // and it did run in bfloat16, not in float
    // Back to float on the same packed convolutions: they repack in float.
    net->set_packed_inference(true, torch::kFloat);
    expect_close(plain, net->forward(x));
  }
}

TEST_F(PackedInference, PrecisionComesFromTheConfig) {
  auto model = dkd_test::tiny_dkd_model();
  dkd::InferConfig infer;
  infer.precision = dkd::Precision::bfloat16;
  if (!dkd::packed_bfloat16_supported()) {
    EXPECT_THROW(dkd::set_packed_inference(*model, infer), dkd::Error);
    return;
  }
  EXPECT_EQ(dkd::set_packed_inference(*model, infer), 2);
  for (const auto& m : model->modules()) {
    if (auto* b = m->as<dkd::BackboneImpl>()) {
      EXPECT_TRUE(b->packed_inference());
      EXPECT_EQ(b->packed_dtype(), torch::kBFloat16);
    }
  }
  infer.precision = dkd::Precision::float32;
  infer.packed_inference = false;
  EXPECT_EQ(dkd::set_packed_inference(*model, infer), 2);
  for (const auto& m : model->modules()) {
    if (auto* b = m->as<dkd::BackboneImpl>()) {
      EXPECT_FALSE(b->packed_inference());
    }
  }
}
