// The location prior (model.distillator.prior = warped): the crop-to-crop
// mapping against hand-computed cases, the fusion head, DKD with the prior
// (clip forward = streaming), and the training-time prior corruption.
#include <random>
#include <utility>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dkd/data/heatmap.h"
#include "dkd/data/skeleton.h"
#include "dkd/data/transforms.h"
#include "dkd/models/dkd_model.h"
#include "dkd/models/location_prior.h"
#include "dkd/train/prior_corruption.h"
#include "model_fixtures.h"

namespace {

// Hand-computed: a 96x96 image region mapped onto a 24x24 heatmap (scale 1/4),
// pixel centres, so the region centre lands on heatmap pixel 11.5.
//   frame t-1: centre (120, 100) -> x_h = 0.25 x - 18.5, y_h = 0.25 y - 13.5
//   frame t:   centre (126,  96) -> x_h = 0.25 x - 20.0, y_h = 0.25 y - 12.5
// The image point (130, 90) is at (14.0, 9.0) in frame t-1's heatmap and at
// (12.5, 10.0) in frame t's.
torch::Tensor crop(std::initializer_list<double> m) {
  return torch::tensor(std::vector<double>(m), torch::kDouble).view({1, 2, 3});
}
const auto kFrom = [] { return crop({0.25, 0, -18.5, 0, 0.25, -13.5}); };
const auto kTo = [] { return crop({0.25, 0, -20.0, 0, 0.25, -12.5}); };

torch::Tensor gaussian_at(double x, double y, int size = 24, double sigma = 1.5) {
  return dkd::render_heatmaps({{float(x), float(y)}}, {1}, size, size, sigma).unsqueeze(0);  // [1, 1, h, w]
}

dkd::Point2 peak_of(const torch::Tensor& heatmaps) {
  const auto peaks = dkd::decode_heatmaps(heatmaps, dkd::HeatmapDecoder::dark, 1.5);
  const auto c = peaks.coords.flatten().to(torch::kDouble);
  return {c[0].item<float>(), c[1].item<float>()};
}

}  // namespace

TEST(LocationPrior, HandComputedCropsMatchCropTransform) {
  // The hand-written matrices are what the data pipeline builds for these boxes.
  const auto from = dkd::CropTransform::make({120, 100}, 96, 96, 0.0, false, 24, 24);
  const auto to = dkd::CropTransform::make({126, 96}, 96, 96, 0.0, false, 24, 24);
  EXPECT_TRUE(torch::allclose(dkd::crop_matrices({from, to}), torch::cat({kFrom(), kTo()}), 1e-9, 1e-9));
}

TEST(LocationPrior, ThetaIsTheIdentityForEqualCrops) {
  const auto theta = dkd::crop_to_crop_theta(kFrom(), kFrom(), 24, 24);
  EXPECT_TRUE(torch::allclose(theta, crop({1, 0, 0, 0, 1, 0}), 1e-12, 1e-12));
  torch::manual_seed(1);
  const auto h = torch::rand({1, 3, 24, 24});
  // affine_grid builds the (identity) sampling grid in float: ~1e-7 px of rounding.
  EXPECT_TRUE(torch::allclose(dkd::warp_heatmaps(h, kFrom(), kFrom()), h, 1e-5, 1e-5));
}

TEST(LocationPrior, ThetaMatchesTheHandComputedShiftPerBatchItemAndRejectsSingularCrops) {
  // Frame t heatmap pixel -> frame t-1's: x' = x + 1.5, y' = y - 1 (see kFrom/kTo), so in
  // normalised coordinates of a 24x24 grid a shift of 2 * 1.5 / 24 and -2 / 24.
  const auto from = torch::cat({kFrom(), kTo()}), to = torch::cat({kTo(), kTo()});
  const auto theta = dkd::crop_to_crop_theta(from.to(torch::kFloat), to, 24, 24);
  ASSERT_EQ(theta.sizes(), (std::vector<int64_t>{2, 2, 3}));
  EXPECT_TRUE(torch::allclose(theta[0], crop({1, 0, 0.125, 0, 1, -1.0 / 12})[0], 1e-7, 1e-7));
  EXPECT_TRUE(torch::allclose(theta[1], crop({1, 0, 0, 0, 1, 0})[0], 1e-12, 1e-12));
  try {
    dkd::crop_to_crop_theta(kFrom(), crop({0.25, 0.5, 0, 0.125, 0.25, 0}), 24, 24);
    FAIL() << "a singular crop must be an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("singular"), std::string::npos) << e.what();
  }
}

TEST(LocationPrior, HostGridEqualsAffineGridOfTheta) {
  // Two items, a shift and a scaled crop, on a non-square grid.
  const auto wide = crop({0.125, 0, 11.5 - 0.125 * 126, 0, 0.125, 11.5 - 0.125 * 96});
  const auto from = torch::cat({kFrom(), kFrom()}), to = torch::cat({kTo(), wide});
  for (const auto& [h, w] : {std::pair<int64_t, int64_t>{24, 24}, {32, 24}}) {
    const auto theta = dkd::crop_to_crop_theta(from, to, h, w);
    namespace F = torch::nn::functional;
    const auto want = F::affine_grid(theta, {2, 1, h, w}, /*align_corners=*/false).to(torch::kFloat);
    const auto got = dkd::crop_to_crop_grid(from, to, h, w);
    ASSERT_EQ(got.sizes(), want.sizes());
    EXPECT_LT((got - want).abs().max().item<double>(), 1e-6) << h << "x" << w;
    // Not the identity grid: the crops differ.
    EXPECT_GT((got[1] - got[0]).abs().max().item<double>(), 0.1);
  }
}

TEST(LocationPrior, WarpMovesAJointToItsPlaceInTheNextCrop) {
  const auto warped = dkd::warp_heatmaps(gaussian_at(14.0, 9.0), kFrom(), kTo());
  const auto p = peak_of(warped);
  EXPECT_NEAR(p.x, 12.5, 0.05);
  EXPECT_NEAR(p.y, 10.0, 0.05);
  // And the whole map, not only its peak: bilinear resampling of a sigma-1.5 Gaussian.
  EXPECT_LT((warped - gaussian_at(12.5, 10.0)).abs().max().item<double>(), 0.06);
  // Back again.
  const auto back = peak_of(dkd::warp_heatmaps(warped, kTo(), kFrom()));
  EXPECT_NEAR(back.x, 14.0, 0.05);
  EXPECT_NEAR(back.y, 9.0, 0.05);
}

TEST(LocationPrior, WarpHandlesScaleAndMirroredStreams) {
  // Frame t's region is twice as large (96 -> 192 image px on 24 heatmap px):
  // x_h = 0.125 (x - 126) + 11.5, so (130, 90) -> (12.0, 10.75).
  const auto wide = crop({0.125, 0, 11.5 - 0.125 * 126, 0, 0.125, 11.5 - 0.125 * 96});
  auto p = peak_of(dkd::warp_heatmaps(gaussian_at(14.0, 9.0, 24, 3.0), kFrom(), wide));
  EXPECT_NEAR(p.x, 12.0, 0.1);
  EXPECT_NEAR(p.y, 10.75, 0.1);
  // The flip test's mirrored stream: x -> 23 - x in both crops.
  const auto from_m = dkd::mirrored_crop(kFrom()[0], 24).unsqueeze(0);
  const auto to_m = dkd::mirrored_crop(kTo()[0], 24).unsqueeze(0);
  EXPECT_NEAR(from_m[0][0][2].item<double>(), 23 + 18.5, 1e-12);
  p = peak_of(dkd::warp_heatmaps(gaussian_at(23 - 14.0, 9.0), from_m, to_m));
  EXPECT_NEAR(p.x, 23 - 12.5, 0.05);
  EXPECT_NEAR(p.y, 10.0, 0.05);
}

TEST(LocationPrior, WarpIsDifferentiableAndZeroOutsideThePreviousCrop) {
  auto h = torch::rand({2, 3, 24, 24}).requires_grad_(true);
  // Frame t's crop 40 image px to the right: its right 10 heatmap columns were never seen.
  const auto from = torch::cat({kFrom(), kFrom()});
  const auto to = torch::cat({kFrom(), kFrom()});
  to.select(1, 0).select(1, 2).sub_(10.0);
  const auto w = dkd::warp_heatmaps(h, from, to);
  EXPECT_EQ(w.sizes(), h.sizes());
  EXPECT_EQ(w.narrow(3, 15, 9).abs().max().item<float>(), 0.f);
  EXPECT_TRUE(torch::allclose(w.narrow(3, 0, 14), h.narrow(3, 10, 14), 1e-5, 1e-6));
  w.sum().backward();
  EXPECT_GT(h.grad().abs().sum().item<double>(), 0.0);
}

TEST(LocationPrior, FusionStartsAsTheIdentityAndLearnsFromThePrior) {
  torch::manual_seed(3);
  dkd::LocationPrior prior(4, 8);
  const auto response = torch::randn({2, 4, 12, 12}, torch::requires_grad());
  const auto previous = torch::rand({2, 4, 12, 12}, torch::requires_grad());
  auto out = prior->forward(response, previous);
  EXPECT_EQ(out.sizes(), response.sizes());
  EXPECT_TRUE(torch::allclose(out, response));
  out.pow(2).sum().backward();
  EXPECT_GT(prior->fuse2->weight.grad().abs().sum().item<double>(), 0.0);
  // Once its output layer has moved, the prior changes the heatmaps.
  {
    torch::NoGradGuard g;
    prior->fuse2->weight.normal_(0.0, 0.1);
  }
  const auto p2 = torch::rand({2, 4, 12, 12}, torch::requires_grad());
  prior->forward(response, p2).sum().backward();
  EXPECT_GT(p2.grad().abs().sum().item<double>(), 0.0);
  EXPECT_THROW(prior->forward(response, previous.narrow(1, 0, 3)), c10::Error);
}

TEST(LocationPrior, AgreementSeesWhetherThePriorPointsWhereTheResponseDoes) {
  // Response peak at (10, 8) on a 24x24 map; one prior there, one 6 px to the right, one empty.
  const auto response = gaussian_at(10, 8);
  const auto agree = dkd::prior_agreement(response, gaussian_at(10, 8)).flatten();
  const auto apart = dkd::prior_agreement(response, gaussian_at(16, 8)).flatten();
  const auto empty = dkd::prior_agreement(response, torch::zeros_like(response)).flatten();
  EXPECT_NEAR(agree[0].item<double>(), 1.0, 0.05);  // expected prior / its peak
  EXPECT_NEAR(agree[1].item<double>(), 0.0, 0.01);  // soft-argmax distance
  EXPECT_LT(apart[0].item<double>(), 0.01);
  EXPECT_NEAR(apart[1].item<double>(), 6.0 / 24.0, 0.01);  // in heatmap widths
  EXPECT_NEAR(agree[2].item<double>(), 1.0, 0.01);         // peaks
  EXPECT_NEAR(agree[3].item<double>(), 1.0, 0.01);
  EXPECT_NEAR(empty[0].item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(empty[3].item<double>(), 0.0, 1e-6);
}

TEST(LocationPrior, PointwiseAndGatedHeadsStartNearTheIdentityAndTrainTheGate) {
  torch::manual_seed(5);
  const auto response = torch::randn({2, 4, 12, 12});
  const auto previous = torch::rand({2, 4, 12, 12});
  dkd::LocationPrior pointwise(4, 8, dkd::PriorFusion::pointwise, false);
  EXPECT_EQ(pointwise->fuse1->weight.sizes(), (std::vector<int64_t>{8, 8, 1, 1}));
  EXPECT_TRUE(torch::allclose(pointwise->forward(response, previous), response));

  dkd::LocationPrior gated(4, 8, dkd::PriorFusion::conv3x3, true);
  ASSERT_TRUE(gated->gate);
  {
    torch::NoGradGuard g;
    gated->fuse2->weight.normal_(0.0, 0.1);
  }
  // The gate starts open at sigmoid(3) for every joint: the correction is scaled by 0.953.
  dkd::LocationPrior ungated(4, 8, dkd::PriorFusion::conv3x3, false);
  {
    torch::NoGradGuard g;
    const auto source = gated->named_parameters();
    for (auto& item : ungated->named_parameters()) item.value().copy_(source[item.key()]);
  }
  const auto correction = ungated->forward(response, previous) - response;
  const auto out = gated->forward(response, previous);
  EXPECT_TRUE(torch::allclose(out - response, correction * (1.0 / (1.0 + std::exp(-3.0))), 1e-4, 1e-5));
  out.pow(2).sum().backward();
  EXPECT_GT(gated->gate->out->weight.grad().abs().sum().item<double>(), 0.0);

  // prior_features: the head takes [R, P, F(t)], starts as the identity, and needs F(t).
  dkd::LocationPrior with_features(4, 8, dkd::PriorFusion::conv3x3, false, 6);
  EXPECT_EQ(with_features->fuse1->weight.size(1), 4 + 4 + 6);
  const auto features = torch::rand({2, 6, 12, 12}, torch::requires_grad());
  EXPECT_TRUE(torch::allclose(with_features->forward(response, previous, features), response));
  EXPECT_THROW(with_features->forward(response, previous), c10::Error);
  {
    torch::NoGradGuard g;
    with_features->fuse2->weight.normal_(0.0, 0.1);
  }
  with_features->forward(response, previous, features).sum().backward();
  EXPECT_GT(features.grad().abs().sum().item<double>(), 0.0);
}

TEST(LocationPrior, GroupedHeadKeepsEachJointToItsOwnMaps) {
  torch::manual_seed(7);
  dkd::LocationPrior grouped(4, 8, dkd::PriorFusion::grouped, false);
  // Per joint: [R_j, P_j] -> 2 hidden maps -> 1, all 3x3: 1/J of conv3x3's weights at the same width.
  EXPECT_EQ(grouped->fuse1->weight.sizes(), (std::vector<int64_t>{8, 2, 3, 3}));
  EXPECT_EQ(grouped->fuse2->weight.sizes(), (std::vector<int64_t>{4, 2, 3, 3}));
  dkd::LocationPrior full(4, 8, dkd::PriorFusion::conv3x3, false);
  EXPECT_EQ(full->fuse1->weight.numel() + full->fuse2->weight.numel(),
            4 * (grouped->fuse1->weight.numel() + grouped->fuse2->weight.numel()));
  const auto response = torch::randn({2, 4, 12, 12});
  const auto previous = torch::rand({2, 4, 12, 12}, torch::requires_grad());
  EXPECT_TRUE(torch::allclose(grouped->forward(response, previous), response));
  {
    torch::NoGradGuard g;
    grouped->fuse2->weight.normal_(0.0, 0.1);
    grouped->fuse1->bias.fill_(0.1);  // every hidden unit active, so every joint's prior reaches its output
  }
  const auto out = grouped->forward(response, previous);
  // Moving joint 2's prior changes joint 2's heatmap only.
  auto moved = previous.detach().clone();
  moved.select(1, 2).copy_(moved.select(1, 2).roll(3, -1));
  const auto out_moved = grouped->forward(response, moved);
  const auto change = (out_moved - out).abs().amax({0, 2, 3});
  EXPECT_GT(change[2].item<double>(), 1e-4);
  for (int j : {0, 1, 3}) EXPECT_EQ(change[j].item<double>(), 0.0) << j;
  out.select(1, 2).sum().backward();
  const auto grad = previous.grad().abs().amax({0, 2, 3});
  EXPECT_GT(grad[2].item<double>(), 0.0);
  for (int j : {0, 1, 3}) EXPECT_EQ(grad[j].item<double>(), 0.0) << j;
  EXPECT_THROW(dkd::LocationPrior(4, 6, dkd::PriorFusion::grouped, false), c10::Error);  // 6 hidden maps for 4 joints
  EXPECT_THROW(dkd::LocationPrior(4, 8, dkd::PriorFusion::grouped, false, 5),
               c10::Error);  // no features in a grouped head
}

namespace {

dkd::DkdModel tiny_model_with_prior(int64_t joints = 3) { return dkd_test::tiny_dkd_model("per_joint", joints, 4); }

/// [B, T, 2, 3] crops of 8x8 heatmaps moving right by 1 heatmap pixel a frame.
torch::Tensor moving_crops(int64_t b, int64_t t) {
  auto crops = torch::zeros({b, t, 2, 3}, torch::kDouble);
  for (int64_t i = 0; i < t; ++i) {
    crops[0][i] = torch::tensor({0.25, 0.0, -double(i), 0.0, 0.25, 0.0}, torch::kDouble).view({2, 3});
    for (int64_t s = 1; s < b; ++s) crops[s][i] = crops[0][i];
  }
  return crops;
}

}  // namespace

TEST(LocationPrior, DkdClipForwardEqualsStreamingWithCrops) {
  torch::manual_seed(5);
  auto model = tiny_model_with_prior();
  torch::NoGradGuard g;
  model->prior->fuse2->weight.normal_(0.0, 0.2);  // a prior that matters
  dkd_test::calibrate_batch_norm(model);
  const auto clip = torch::randn({2, 4, 3, 32, 32});
  const auto crops = moving_crops(2, 4);
  dkd::DkdForwardOptions options;
  options.crops = crops;
  const auto full = model->forward(clip, options).heatmaps;
  // Different from the same model without crops: the warp is used.
  const auto unwarped = model->forward(clip).heatmaps;
  EXPECT_GT((full - unwarped).abs().max().item<double>(), 1e-3 * full.abs().max().item<double>());
  auto state = model->start(clip.select(1, 0), crops.select(1, 0));
  for (int64_t t = 1; t < 4; ++t) {
    const auto h = model->step(state, clip.select(1, t), crops.select(1, t));
    EXPECT_TRUE(torch::allclose(h, full.select(1, t), 1e-4, 1e-6)) << "frame " << t;
  }
  EXPECT_EQ(model->parts().count("prior"), 1u);
}

TEST(LocationPrior, GradientsReachThePriorThroughTime) {
  torch::manual_seed(6);
  auto model = tiny_model_with_prior();
  model->set_initializer_frozen(true);
  dkd::DkdForwardOptions options;
  options.crops = moving_crops(2, 3);
  int calls = 0;
  options.corrupt_previous = [&calls](const torch::Tensor& previous, int64_t) {
    ++calls;
    return previous;
  };
  const auto out = model->forward(torch::randn({2, 3, 3, 32, 32}), options);
  EXPECT_EQ(calls, 2);  // H(0) and H(1)
  out.heatmaps.narrow(1, 1, 2).pow(2).sum().backward();
  EXPECT_GT(model->prior->fuse2->weight.grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(model->distillator->parameters()[0].grad().abs().sum().item<double>(), 0.0);
}

TEST(PriorCorruption, EachFailureModeDoesWhatItSays) {
  const dkd::Skeleton& skeleton = dkd::skeleton_for("penn");
  const int64_t J = skeleton.num_joints();
  // Channel j holds the constant j + 1, so every channel says where it came from.
  const auto h = (torch::arange(J, torch::kFloat) + 1).view({1, J, 1, 1}).expand({2, J, 4, 4}).contiguous();
  std::mt19937_64 rng(1);
  dkd::PriorCorruptionConfig none;
  EXPECT_FALSE(dkd::any_prior_corruption(none));
  EXPECT_TRUE(dkd::corrupt_heatmaps(h, none, skeleton, rng).equal(h));

  dkd::PriorCorruptionConfig swap;
  swap.swap = 1.0;
  auto out = dkd::corrupt_heatmaps(h, swap, skeleton, rng);
  for (int64_t j = 0; j < J; ++j)
    EXPECT_EQ(out[1][j][0][0].item<float>(), float(skeleton.flipped(int(j)) + 1)) << "joint " << j;

  dkd::PriorCorruptionConfig jump;
  jump.jump = 1.0;
  out = dkd::corrupt_heatmaps(h, jump, skeleton, rng);
  for (int64_t j = 0; j < J; ++j) {
    const float v = out[0][j][0][0].item<float>();
    EXPECT_NE(v, float(j + 1)) << "joint " << j << " kept its own heatmap";
    EXPECT_TRUE(v >= 1 && v <= J);
  }

  dkd::PriorCorruptionConfig drop;
  drop.drop = 1.0;
  EXPECT_EQ(dkd::corrupt_heatmaps(h, drop, skeleton, rng).abs().sum().item<float>(), 0.f);

  // Partial probabilities: about that share of joints changed, and gradients flow to the kept ones.
  dkd::PriorCorruptionConfig some;
  some.drop = 0.3;
  const auto big = torch::ones({200, J, 2, 2}, torch::requires_grad());
  out = dkd::corrupt_heatmaps(big, some, skeleton, rng);
  const double dropped = (out.select(3, 0).select(2, 0) == 0).to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(dropped, 0.3, 0.03);
  out.sum().backward();
  EXPECT_NEAR(big.grad().mean().item<double>(), 1.0 - dropped, 1e-6);
}
