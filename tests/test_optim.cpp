#include "dkd/train/optim.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dkd/train/losses.h"
#include "dkd/util/error.h"

namespace {

dkd::TrainConfig train_with(const std::string& schedule, int warmup) {
  dkd::TrainConfig t;
  t.schedule = dkd::parse_kind<dkd::ScheduleKind>(schedule, "schedule");
  t.warmup_iters = warmup;
  t.gamma = 0.1;
  return t;
}

TEST(LrSchedule, MultistepDecaysAtMilestoneEpochs) {
  dkd::StageConfig stage;
  stage.epochs = 10;
  stage.milestones = {3, 6};
  const dkd::LrSchedule s(train_with("multistep", 0), stage, 1.0, 100);
  EXPECT_DOUBLE_EQ(s.lr_at(0), 1.0);
  EXPECT_DOUBLE_EQ(s.lr_at(299), 1.0);
  EXPECT_NEAR(s.lr_at(300), 0.1, 1e-12);
  EXPECT_NEAR(s.lr_at(599), 0.1, 1e-12);
  EXPECT_NEAR(s.lr_at(600), 0.01, 1e-12);
}

TEST(LrSchedule, CosineGoesFromBaseToZero) {
  dkd::StageConfig stage;
  stage.epochs = 2;
  const dkd::LrSchedule s(train_with("cosine", 0), stage, 2.0, 50);
  EXPECT_DOUBLE_EQ(s.lr_at(0), 2.0);
  EXPECT_NEAR(s.lr_at(50), 1.0, 1e-12);  // half way
  EXPECT_NEAR(s.lr_at(100), 0.0, 1e-12);
  // max_iters shortens the cosine.
  stage.max_iters = 20;
  const dkd::LrSchedule short_s(train_with("cosine", 0), stage, 2.0, 50);
  EXPECT_NEAR(short_s.lr_at(10), 1.0, 1e-12);
}

TEST(LrSchedule, LinearWarmupThenConstant) {
  dkd::StageConfig stage;
  const dkd::LrSchedule s(train_with("constant", 4), stage, 1.0, 10);
  EXPECT_DOUBLE_EQ(s.lr_at(0), 0.25);
  EXPECT_DOUBLE_EQ(s.lr_at(1), 0.5);
  EXPECT_DOUBLE_EQ(s.lr_at(3), 1.0);
  EXPECT_DOUBLE_EQ(s.lr_at(100), 1.0);
}

TEST(Optimizers, EachKindStepsAndTakesTheLr) {
  for (const std::string kind : {"adam", "sgd", "rmsprop"}) {
    dkd::TrainConfig t;
    t.optimizer = dkd::parse_kind<dkd::OptimizerKind>(kind, "optimizer");
    t.nesterov = kind == "sgd";
    auto w = torch::ones({3}, torch::requires_grad());
    auto opt = dkd::make_optimizer({w}, t, 0.1);
    dkd::set_lr(*opt, 0.05);
    EXPECT_DOUBLE_EQ(opt->param_groups()[0].options().get_lr(), 0.05) << kind;
    const auto loss = (w * w).sum();
    opt->zero_grad();
    loss.backward();
    opt->step();
    EXPECT_LT(w.sum().item<double>(), 3.0) << kind;  // moved downhill
  }
}

TEST(Optimizers, GradientClippingBoundsTheNorm) {
  auto w = torch::zeros({4}, torch::requires_grad());
  (w * torch::tensor({30.0, 40.0, 0.0, 0.0})).sum().backward();
  const double before = dkd::clip_gradients({w}, 1.0);
  EXPECT_NEAR(before, 50.0, 1e-4);
  EXPECT_NEAR(w.grad().norm().item<double>(), 1.0, 1e-4);
  EXPECT_DOUBLE_EQ(dkd::clip_gradients({w}, 0.0), 0.0);  // off
}

TEST(Losses, HeatmapMseIgnoresInvisibleJoints) {
  const auto pred = torch::zeros({1, 2, 2, 2});
  auto target = torch::ones({1, 2, 2, 2});
  const auto all = dkd::heatmap_mse(pred, target, torch::ones({1, 2}));
  EXPECT_NEAR(all.item<double>(), 0.5, 1e-7);
  const auto one = dkd::heatmap_mse(pred, target, torch::tensor({{1.0f, 0.0f}}));
  EXPECT_NEAR(one.item<double>(), 0.25, 1e-7);
}

TEST(Losses, BeganBalanceFollowsTheUpdateRule) {
  dkd::BeganBalance b{0.5, 0.5, 0.1};
  b.update(1.0, 0.2);  // 0.5 + 0.1 * (0.5 - 0.2)
  EXPECT_NEAR(b.k, 0.53, 1e-12);
  b.update(0.0, 100.0);
  EXPECT_DOUBLE_EQ(b.k, 0.0);  // clipped
  b.k = 0.99;
  b.update(100.0, 0.0);
  EXPECT_DOUBLE_EQ(b.k, 1.0);
  EXPECT_DOUBLE_EQ(b.convergence(1.0, 0.2), 1.0 + 0.3);
}

}  // namespace
