// Sub-pixel convolution = stride-2 transposed convolution (exact), its
// gradients, and the backbone's deconv_impl = subpixel against transposed.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <tuple>

#include "dkd/models/backbone.h"
#include "dkd/models/subpixel_deconv.h"

namespace {

double max_rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).abs().max() / (b.abs().max() + 1e-12)).item<double>();
}

}  // namespace

TEST(SubpixelDeconv, EqualsTransposedConvolutionForEveryKernel) {
  torch::manual_seed(11);
  for (int kernel : {2, 3, 4}) {
    const dkd::DeconvPadding pad = dkd::deconv_padding(kernel);
    torch::nn::ConvTranspose2d deconv(torch::nn::ConvTranspose2dOptions(5, 3, kernel)
                                          .stride(2)
                                          .padding(pad.padding)
                                          .output_padding(pad.output_padding));
    const auto x = torch::randn({2, 5, 7, 6}, torch::requires_grad());
    const auto x2 = x.detach().clone().requires_grad_(true);
    const auto reference = deconv(x);
    ASSERT_EQ(reference.sizes(), torch::IntArrayRef({2, 3, 14, 12})) << "kernel " << kernel;
    const auto out = dkd::subpixel_deconv(x2, deconv->weight, deconv->bias, pad.padding);
    ASSERT_EQ(out.sizes(), reference.sizes());
    EXPECT_LT(max_rel_diff(out, reference), 1e-5) << "kernel " << kernel;

    // The same gradients for the input, the weight (in its transposed layout) and the bias.
    const auto g = torch::randn_like(reference);
    const auto grads_ref = torch::autograd::grad({reference}, {x, deconv->weight, deconv->bias}, {g});
    const auto grads = torch::autograd::grad({out}, {x2, deconv->weight, deconv->bias}, {g});
    for (std::size_t i = 0; i < 3; ++i)
      EXPECT_LT(max_rel_diff(grads[i], grads_ref[i]), 1e-5) << "kernel " << kernel << ", gradient " << i;
  }
}

TEST(SubpixelDeconv, InferenceGatherEqualsTheTrainingInterleave) {
  // Without gradients the interleave is one gather; with them, slices and stacks.
  torch::manual_seed(12);
  for (const auto& [out, h, w] : {std::tuple<int64_t, int64_t, int64_t>{3, 7, 6}, {16, 12, 12}, {1, 1, 1}}) {
    const auto y4 = torch::randn({2, 4 * out, h + 1, w + 1}, torch::requires_grad());
    const auto trained = dkd::subpixel_interleave(y4, out, h, w);
    ASSERT_TRUE(trained.requires_grad());
    torch::NoGradGuard no_grad;
    const auto gathered = dkd::subpixel_interleave(y4, out, h, w);
    EXPECT_TRUE(torch::equal(gathered, trained)) << out << " x " << h << " x " << w;
    // The same again from the cached index, and for a batch of one.
    EXPECT_TRUE(torch::equal(dkd::subpixel_interleave(y4.narrow(0, 1, 1), out, h, w), trained.narrow(0, 1, 1)));
  }
}

TEST(SubpixelDeconv, WeightLayoutPutsPhasesNextToEachOther) {
  // Kernel 4, padding 1: phase (0, 0) of output channel c uses taps (3, 1) x (3, 1).
  const auto w = torch::arange(2 * 1 * 16, torch::kFloat).view({2, 1, 4, 4});
  const auto k = dkd::subpixel_weight(w, 1);
  ASSERT_EQ(k.sizes(), torch::IntArrayRef({4, 2, 2, 2}));
  EXPECT_EQ(k[0][1][0][0].item<float>(), w[1][0][3][3].item<float>());
  EXPECT_EQ(k[0][1][1][1].item<float>(), w[1][0][1][1].item<float>());
  // Phase (1, 0): rows (2, 0), columns (3, 1).
  EXPECT_EQ(k[2][0][0][1].item<float>(), w[0][0][2][1].item<float>());
  EXPECT_EQ(k[2][0][1][0].item<float>(), w[0][0][0][3].item<float>());
}

TEST(SubpixelDeconv, BackboneGivesTheSameOutputsAndGradientsBothWays) {
  torch::manual_seed(12);
  dkd::BackboneConfig cfg;
  cfg.depth = 18;
  cfg.width = 0.125;
  cfg.stages = 3;
  cfg.deconv_layers = 2;
  cfg.deconv_filters = 8;
  dkd::Backbone transposed(cfg);
  cfg.deconv_impl = dkd::DeconvImpl::subpixel;
  dkd::Backbone subpixel(cfg);
  {
    torch::NoGradGuard g;
    const auto src = transposed->named_parameters();
    for (auto& p : subpixel->named_parameters()) p.value().copy_(src[p.key()].normal_(0.0, 0.1));
  }
  const auto x = torch::randn({2, 3, 64, 48});
  // Training mode (batch statistics): outputs and every parameter's gradient.
  const auto a = transposed->forward(x), b = subpixel->forward(x);
  EXPECT_LT(max_rel_diff(b, a), 1e-5);
  a.pow(2).sum().backward();
  b.pow(2).sum().backward();
  const auto pa = transposed->named_parameters();
  for (const auto& p : subpixel->named_parameters())
    EXPECT_LT(max_rel_diff(p.value().grad(), pa[p.key()].grad()), 1e-4) << p.key();

  // Inference reuses the rearranged weights until the parameters change in place.
  transposed->eval();
  subpixel->eval();
  torch::NoGradGuard g;
  EXPECT_LT(max_rel_diff(subpixel->forward(x), transposed->forward(x)), 1e-5);
  for (auto& p : transposed->parameters()) p.mul_(1.5);
  for (auto& p : subpixel->parameters()) p.mul_(1.5);
  EXPECT_LT(max_rel_diff(subpixel->forward(x), transposed->forward(x)), 1e-5);
}
