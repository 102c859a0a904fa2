// The DKD stage: the whole clip with back-propagation through time, the
// location prior's crop transforms, teacher forcing and prior corruption drawn
// from (seed, step), and the BEGAN temporal discriminator.
#include <torch/torch.h>

#include <random>

#include "dkd/data/clip_dataset.h"
#include "dkd/data/loader.h"
#include "dkd/data/skeleton.h"
#include "dkd/dist/gradient_reducer.h"
#include "dkd/dist/process_group.h"
#include "dkd/train/losses.h"
#include "dkd/train/optim.h"
#include "dkd/train/prior_corruption.h"
#include "dkd/train/stage.h"
#include "dkd/util/logging.h"

namespace dkd {

namespace {

/// Copies every parameter and buffer of `from` into `to` (same architecture: the
/// baseline and the encoder are both built from model.encoder).
void copy_weights(torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto source = from.named_parameters();
  for (auto& p : to.named_parameters()) p.value().copy_(source[p.key()]);
  auto buffers = from.named_buffers();
  for (auto& b : to.named_buffers()) b.value().copy_(buffers[b.key()]);
}

class DkdStage final : public Stage {
 public:
  explicit DkdStage(StageContext context) : Stage(context) {}

  StageKind kind() const override { return StageKind::dkd; }
  int clip_length() const override { return ctx_.config.data.clip_length; }
  const char* sample_unit() const override { return "clips"; }

  void initialize_weights() override {
    const auto& tr = ctx_.config.train;
    ModelSet& models = ctx_.models;
    if (!tr.initializer_checkpoint.empty() && !runs_stage(tr, StageKind::initializer)) {
      load_model_weights(tr.initializer_checkpoint, {{"initializer", models.initializer.ptr().get()}});
      spdlog::info("dkd: initializer weights from {}", tr.initializer_checkpoint);
    }
    if (tr.encoder_from_baseline) {
      const bool trained_here = stage_before(tr, StageKind::baseline, StageKind::dkd);
      if (!trained_here) load_model_weights(tr.baseline_checkpoint, {{"baseline", models.baseline.ptr().get()}});
      copy_weights(*models.baseline->backbone, *models.dkd->encoder->backbone);
      // The static path starts as the trained small network: DKD starts where it is.
      if (models.dkd->matching->static_head)
        copy_weights(*models.baseline->final_layer, *models.dkd->matching->static_head);
      spdlog::info("dkd: encoder starts from the per-frame small baseline's trunk{} ({})",
                   models.dkd->matching->static_head ? ", the static head from its heatmap head" : "",
                   trained_here ? "stage baseline of this run" : tr.baseline_checkpoint);
    }
  }

  void prepare(double lr) override {
    const auto& tr = ctx_.config.train;
    DkdModel& dkd = ctx_.models.dkd;
    dkd->set_initializer_frozen(tr.freeze_initializer);
    params_.clear();
    for (auto& p : dkd->parameters())
      if (p.requires_grad()) params_.push_back(p);
    optimizer_ = make_optimizer(params_, tr, lr);
    disc_params_.clear();
    disc_optimizer_.reset();
    if (tr.adversarial.enabled) {
      disc_params_ = ctx_.models.discriminator->parameters();
      disc_optimizer_ = std::make_unique<torch::optim::Adam>(
          disc_params_, torch::optim::AdamOptions(tr.adversarial.lr).betas({0.5, 0.999}));
    }
    reducer_ = std::make_unique<GradientReducer>(ctx_.dist, params_, ctx_.config.dist.bucket_mb);
    disc_reducer_ = std::make_unique<GradientReducer>(ctx_.dist, disc_params_, ctx_.config.dist.bucket_mb);
  }

  LossTerms step(const Batch& batch, int64_t step, double progress) override;

  void set_lr(double lr) override { dkd::set_lr(*optimizer_, lr); }
  torch::nn::Module& trained() override { return *ctx_.models.dkd; }
  std::vector<torch::Tensor> parameters() const override { return params_; }
  std::vector<torch::Tensor> updated_tensors() const override {
    std::vector<torch::Tensor> out = params_;
    out.insert(out.end(), disc_params_.begin(), disc_params_.end());
    return out;
  }
  OptimizerMap optimizers() override {
    OptimizerMap out{{"pose", optimizer_.get()}};
    if (disc_optimizer_) out["discriminator"] = disc_optimizer_.get();
    return out;
  }

  void save_state(CheckpointMeta& meta) const override { meta.began_k = began_.k; }
  void load_state(const CheckpointMeta& meta) override {
    began_.k = meta.began_k;
    configure_began();
  }
  void reset_state() override {
    const auto& adv = ctx_.config.train.adversarial;
    began_ = BeganBalance{adv.k_init, adv.gamma, adv.lambda_k};
  }
  std::string status(const LossTerms& terms) const override {
    return terms.count("began_k") ? " k " + std::to_string(began_.k).substr(0, 6) : "";
  }

 private:
  void configure_began() {
    began_.gamma = ctx_.config.train.adversarial.gamma;
    began_.lambda_k = ctx_.config.train.adversarial.lambda_k;
  }

  std::vector<torch::Tensor> params_;
  std::vector<torch::Tensor> disc_params_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<torch::optim::Optimizer> disc_optimizer_;
  std::unique_ptr<GradientReducer> reducer_;
  std::unique_ptr<GradientReducer> disc_reducer_;
  BeganBalance began_;
};

LossTerms DkdStage::step(const Batch& batch, int64_t step, double progress) {
  LossTerms terms;
  const auto& config = ctx_.config;
  const auto& tr = config.train;
  const c10::Device device = ctx_.device;
  ModelSet& models = ctx_.models;
  const auto images = batch.images.to(device);
  const auto targets = batch.heatmaps.to(device);
  const auto weights = batch.weights.to(device);

  DkdForwardOptions fwd;
  const double tf = tr.teacher_forcing_start + (tr.teacher_forcing_end - tr.teacher_forcing_start) * progress;
  if (tf > 0) {
    // Drawn from (seed, step) so a resumed run draws the same masks.
    std::mt19937_64 rng(static_cast<uint64_t>(config.runtime.seed) * 1000003ULL + static_cast<uint64_t>(step));
    std::bernoulli_distribution coin(tf);
    auto mask = torch::zeros({images.size(0), images.size(1)}, torch::kBool);
    auto acc = mask.accessor<bool, 2>();
    for (int64_t b = 0; b < mask.size(0); ++b)
      for (int64_t t = 0; t < mask.size(1); ++t) acc[b][t] = coin(rng);
    fwd.gt_heatmaps = targets;
    fwd.teacher_mask = mask.to(device);
  }
  if (models.dkd->prior) {
    // Every frame's image -> heatmap affine: the prior maps H(t-1) into frame t's crop.
    std::vector<torch::Tensor> crops;
    for (const auto& sample : batch.transforms) {
      std::vector<CropTransform> heatmap_transforms;
      for (const auto& transform : sample) heatmap_transforms.push_back(transform.downscaled(kHeatmapStride));
      crops.push_back(crop_matrices(heatmap_transforms));
    }
    fwd.crops = torch::stack(crops).to(device);
  }
  if (any_prior_corruption(tr.prior_corruption)) {
    // Its own stream of draws from (seed, step), like the teacher-forcing masks.
    auto rng = std::make_shared<std::mt19937_64>(static_cast<uint64_t>(config.runtime.seed) * 7919ULL +
                                                 static_cast<uint64_t>(step) * 104729ULL + 17ULL);
    const Skeleton& skeleton = skeleton_for(config.data.dataset);
    fwd.corrupt_previous = [rng, &skeleton, &tr](const torch::Tensor& previous, int64_t) {
      return corrupt_heatmaps(previous, tr.prior_corruption, skeleton, *rng);
    };
  }
  const auto out = models.dkd->forward(images, fwd);
  const int64_t T = images.size(1);
  // Frame 0 comes from the (frozen) initializer: the pose loss covers t = 1..T-1.
  auto later_targets = targets.narrow(1, 1, T - 1);
  if (tr.initializer_targets > 0) {
    // Knowledge distillation: the large network's own heatmaps of the later frames.
    torch::NoGradGuard no_grad;
    const auto later = images.narrow(1, 1, T - 1);
    const auto teacher = models.dkd->initializer->forward(later.flatten(0, 1)).view_as(later_targets);
    later_targets =
        later_targets * (1.0 - tr.initializer_targets) + teacher.to(later_targets.dtype()) * tr.initializer_targets;
  }
  const auto pose_loss = heatmap_mse(out.heatmaps.narrow(1, 1, T - 1), later_targets, weights.narrow(1, 1, T - 1));
  terms["loss_pose"] = pose_loss.item<double>();
  terms["tf_prob"] = tf;

  torch::Tensor g_loss = pose_loss;
  const bool adversarial = tr.adversarial.enabled && models.discriminator;
  torch::Tensor fake_energy;
  // Real clips have all-zero heatmaps for invisible joints; masking the
  // predictions alike leaves the discriminator only time and shape to judge.
  const auto fake_clip = adversarial && tr.adversarial.mask_invisible
                             ? out.heatmaps * weights.unsqueeze(-1).unsqueeze(-1).to(out.heatmaps.dtype())
                             : out.heatmaps;
  if (adversarial) {
    fake_energy = models.discriminator->energy(fake_clip).mean();
    g_loss = pose_loss + tr.adversarial.lambda_adv * fake_energy;
    terms["loss_g_adv"] = fake_energy.item<double>();
  }
  optimizer_->zero_grad();
  g_loss.backward();
  reducer_->reduce();
  clip_gradients(params_, tr.grad_clip);
  optimizer_->step();

  if (adversarial) {
    // Discriminator: L_D = L(real) - k L(fake), on the detached prediction.
    disc_optimizer_->zero_grad();
    const auto real = models.discriminator->energy(targets).mean();
    const auto fake = models.discriminator->energy(fake_clip.detach()).mean();
    const auto d_loss = real - began_.k * fake;
    d_loss.backward();
    disc_reducer_->reduce();
    disc_optimizer_->step();
    double real_v = real.item<double>();
    double fake_v = fake.item<double>();
    // k must stay identical on every rank: update it from the mean energies.
    real_v = ctx_.dist.all_reduce_mean(real_v);
    fake_v = ctx_.dist.all_reduce_mean(fake_v);
    began_.update(real_v, fake_v);
    terms["d_real"] = real_v;
    terms["d_fake"] = fake_v;
    terms["d_loss"] = d_loss.item<double>();
    terms["began_k"] = began_.k;
    terms["began_m"] = began_.convergence(real_v, fake_v);
  }
  return terms;
}

}  // namespace

std::unique_ptr<Stage> make_dkd_stage(StageContext context) { return std::make_unique<DkdStage>(context); }

}  // namespace dkd
