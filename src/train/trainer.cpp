#include "dkd/train/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <csignal>
#include <cmath>
#include <filesystem>
#include <random>

#include "dkd/data/clip_dataset.h"
#include "dkd/data/dataset.h"
#include "dkd/data/loader.h"
#include "dkd/data/skeleton.h"
#include "dkd/dist/checkpoint_meta.h"
#include "dkd/dist/env.h"
#include "dkd/dist/gradient_reducer.h"
#include "dkd/dist/process_group.h"
#include "dkd/eval/model_eval.h"
#include "dkd/models/model_set.h"
#include "dkd/models/checkpoint.h"
#include "dkd/train/losses.h"
#include "dkd/train/optim.h"
#include "dkd/train/preflight.h"
#include "dkd/train/prior_corruption.h"
#include "dkd/train/signals.h"
#include "dkd/train/work_dir.h"
#include "dkd/util/error.h"
#include "dkd/util/logging.h"
#include "dkd/util/progress.h"
#include "dkd/config/runtime_setup.h"
#include "dkd/util/runtime.h"

namespace fs = std::filesystem;

namespace dkd {

std::string resolve_work_dir(const Config& config, const TrainOptions& options) {
  if (!options.work_dir.empty()) return options.work_dir;
  if (!config.train.work_dir.empty()) return config.train.work_dir;
  const std::string stem = config.source_path.empty() ? "run" : fs::path(config.source_path).stem().string();
  return (fs::path("work_dirs") / stem).string();
}

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

/// True when `a` comes before `b` in `stages` (both present).
bool stage_before(const std::vector<std::string>& stages, const std::string& a, const std::string& b) {
  const auto ia = std::find(stages.begin(), stages.end(), a), ib = std::find(stages.begin(), stages.end(), b);
  return ia != stages.end() && ib != stages.end() && ia < ib;
}

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

const StageConfig& stage_config(const TrainConfig& train, const std::string& stage) {
  if (stage == "initializer") return train.initializer;
  if (stage == "baseline") return train.baseline;
  if (stage == "dkd") return train.dkd;
  throw ConfigError("train.stages: unknown stage '" + stage + "'");
}

/// Running means of the logged scalars between two metrics lines. Reset at
/// every log and every checkpoint so an interrupted and resumed run logs the
/// same numbers as an uninterrupted one.
class ScalarWindow {
 public:
  void add(const std::string& name, double v) {
    auto& [sum, n] = values_[name];
    sum += v;
    n += 1;
  }
  double mean(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() || it->second.second == 0 ? 0.0 : it->second.first / it->second.second;
  }
  void reset() { values_.clear(); }
  const std::map<std::string, std::pair<double, int>>& values() const { return values_; }

 private:
  std::map<std::string, std::pair<double, int>> values_;
};

/// Everything a run holds across stages.
class Trainer {
 public:
  Trainer(const Config& config, const TrainOptions& options) : config_(config), options_(options) {}

  int run();

 private:
  void prepare();
  /// Refuses or moves aside a previous run, removes stale temporaries, picks the resume checkpoint.
  void prepare_work_dir();
  void run_stage(const std::string& stage, const CheckpointMeta* resume);
  /// One optimisation step; returns the named loss terms of this step.
  std::map<std::string, double> train_step(const std::string& stage, const Batch& batch, int64_t step, double progress);
  void save(const std::string& path);
  std::string checkpoint_now(const std::string& stage, const std::string& file_name);
  double validate(const std::string& stage, int64_t epoch);
  /// After each step: the loss terms (computed with the weights before the
  /// update) and the updated weights must be finite. A finite loss confirms the
  /// checkpoint taken just before the step; a NaN loss condemns it, and
  /// last_checkpoint is pointed back at the last confirmed one.
  void check_finite(const std::string& stage, int64_t step, const std::map<std::string, double>& terms);
  bool weights_finite() const;
  /// The stop request agreed by all ranks (one small all-reduce): SIGINT when
  /// any rank got SIGINT, else SIGTERM when any got a signal, else 0.
  int agreed_stop_signal();
  /// End of a stage: validation, best.pt, and only then the stage marked complete.
  void finish_stage(const std::string& stage, int64_t epoch, const std::string& file_name);
  /// Validates after epoch `epoch` and, on a new best, re-saves `file_name` with it and copies it to best.pt.
  void validate_and_keep_best(const std::string& stage, int64_t epoch, const std::string& file_name);

  Config config_;
  TrainOptions options_;
  DistEnv env_;
  std::unique_ptr<DistContext> dist_;
  torch::Device device_{torch::kCPU};
  std::unique_ptr<WorkDir> work_dir_;
  MetricsWriter metrics_;
  std::vector<VideoRecord> train_videos_;
  std::vector<VideoRecord> val_videos_;
  ModelSet models_;

  // State of the stage being trained (part of every checkpoint).
  CheckpointMeta meta_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<torch::optim::Optimizer> disc_optimizer_;
  std::unique_ptr<GradientReducer> reducer_;
  std::unique_ptr<GradientReducer> disc_reducer_;
  std::vector<torch::Tensor> params_;
  std::vector<torch::Tensor> disc_params_;
  BeganBalance began_;
  std::string last_good_checkpoint_;  ///< newest checkpoint whose weights gave a finite loss
  std::string pending_checkpoint_;    ///< newest checkpoint, until a finite step confirms it
  std::string latest_checkpoint_;     ///< newest checkpoint written
  torch::nn::Module* trained_ = nullptr;
  int agreed_stop_ = 0;
  std::string resume_path_;  ///< checkpoint a --resume continues from
  std::optional<CheckpointMeta> resume_meta_;
  bool is_main_ = true;
};

void Trainer::prepare_work_dir() {
  if (is_main_) {
    if (!options_.resume && work_dir_->holds_run()) {
      // Two runs in one folder mix their metrics and checkpoints, and a later
      // --resume would continue the old run under the new config.
      if (!options_.force)
        throw UsageError(work_dir_->root() +
                         " already holds a run (last_checkpoint, best.pt or checkpoints/); "
                         "continue it with --resume, or pass --force to move it aside and start a new one");
      spdlog::warn("--force: moved the previous run in {} to {}", work_dir_->root(), work_dir_->move_aside());
    }
    for (const auto& stale : work_dir_->clean_temporaries())
      spdlog::info("removed {}, a temporary file left by an interrupted write", stale);
    if (!options_.resume) {
      std::error_code ec;
      fs::remove(work_dir_->path("metrics.jsonl"), ec);  // of a run stopped before its first checkpoint
    }
  }
  dist_->barrier();  // the other ranks look at the work dir after rank 0 has settled it
  if (options_.resume) {
    std::string note;
    resume_path_ =
        options_.resume_checkpoint.empty() ? work_dir_->pick_resume_checkpoint(&note) : options_.resume_checkpoint;
    if (!note.empty() && is_main_) spdlog::warn("{}", note);
    resume_meta_ = read_checkpoint_meta(resume_path_);
  }
}

void Trainer::prepare() {
  env_ = dist_env_from_environment();
  is_main_ = env_.rank == 0;
  set_log_rank(env_.rank);
  RuntimeConfig runtime = config_.runtime;
  // Ranks on one machine share its cores instead of each taking all of them.
  runtime.threads = threads_per_rank(runtime.threads, env_);
  device_ = apply_runtime(runtime, env_.rank);
  device_ = rank_device(device_, env_);
  // A single process gets a no-op context, so the code path is the same.
  dist_ = std::make_unique<DistContext>(env_, config_.dist, device_);

  work_dir_ = std::make_unique<WorkDir>(resolve_work_dir(config_, options_));
  prepare_work_dir();
  // Every file the run will read, checked before the data scan and the first step.
  check_training_inputs(config_, resume_meta_ ? resume_meta_->completed_stages : std::vector<std::string>{},
                        resume_meta_ ? resume_meta_->stage : std::string());
  work_dir_->prepare(config_, is_main_);
  spdlog::info("work dir: {}", work_dir_->root());
  spdlog::info("device {}, {} thread(s), seed {}{}", device_.str(), current_threads(), config_.runtime.seed,
               env_.enabled() ? ", rank " + std::to_string(env_.rank) + "/" + std::to_string(env_.world_size) : "");

  const auto& tr = config_.train;
  if (tr.encoder_from_baseline && std::find(tr.stages.begin(), tr.stages.end(), "dkd") != tr.stages.end() &&
      !stage_before(tr.stages, "baseline", "dkd")) {
    if (tr.baseline_checkpoint.empty())
      throw ConfigError(
          "train.encoder_from_baseline: needs stage baseline before dkd in train.stages, or "
          "train.baseline_checkpoint");
    std::error_code ec;
    if (!fs::is_regular_file(tr.baseline_checkpoint, ec))
      throw DataError(tr.baseline_checkpoint, "no such checkpoint (train.baseline_checkpoint)");
  }
  // Everything that can be wrong with the data is reported before training starts.
  train_videos_ = load_split(config_.data, "train");
  // best.pt is chosen on videos held out of the training list; the test split is dkd_eval's alone.
  if (config_.data.val_fraction <= 0.0)
    throw ConfigError(
        "data.val_fraction is 0: training validates on held-out training videos to choose best.pt "
        "(the test split is for dkd_eval only); set data.val_fraction > 0, e.g. 0.1");
  val_videos_ = load_split(config_.data, "val");
  if (config_.train.val_max_videos > 0 && static_cast<int>(val_videos_.size()) > config_.train.val_max_videos)
    val_videos_.resize(static_cast<std::size_t>(config_.train.val_max_videos));
  if (train_videos_.empty()) throw DataError(config_.data.root, "the training split has no videos");
  const int joints = train_videos_.front().num_joints;
  if (joints != config_.model.num_joints)
    throw ConfigError("model.num_joints is " + std::to_string(config_.model.num_joints) + " but " + config_.data.root +
                      " has " + std::to_string(joints) + " joints per frame");
  spdlog::info("data: {} train / {} validation videos from {}", train_videos_.size(), val_videos_.size(),
               config_.data.root);

  models_ = build_model_set(config_, device_);
  if (dist_->enabled()) {
    for (auto& [name, module] : models_.modules()) dist_->broadcast_parameters(*module);
  }
}

int Trainer::run() {
  prepare();
  std::optional<CheckpointMeta> resume;
  if (options_.resume) {
    const std::string path = resume_path_;
    resume = resume_meta_;
    check_resume_world_size(static_cast<int>(resume->world_size), env_.world_size, path);
    load_model_weights(path, models_.modules());
    last_good_checkpoint_ = path;
    latest_checkpoint_ = path;
    if (is_main_ && fs::path(work_dir_->last_checkpoint()) != fs::path(path)) work_dir_->set_last_checkpoint(path);
    began_.k = resume->began_k;
    spdlog::info("resuming from {} (stage {}, epoch {}, step {})", path, resume->stage.empty() ? "done" : resume->stage,
                 resume->epoch, resume->step);
  }
  const int64_t keep_step = resume ? resume->global_step : -1;
  if (is_main_) metrics_.open(work_dir_->path("metrics.jsonl"), options_.resume ? keep_step : -1);
  install_stop_handlers();

  meta_ = resume ? *resume : CheckpointMeta{};
  for (const std::string& stage : config_.train.stages) {
    if (std::find(meta_.completed_stages.begin(), meta_.completed_stages.end(), stage) !=
        meta_.completed_stages.end()) {
      spdlog::info("stage {}: already completed, skipped", stage);
      continue;
    }
    const bool resuming_this = resume && resume->stage == stage;
    run_stage(stage, resuming_this ? &*resume : nullptr);
    if (agreed_stop_ != 0) {
      spdlog::warn("stopped by signal {}; resume with --resume (checkpoint {})", agreed_stop_, latest_checkpoint_);
      return 128 + agreed_stop_;  // 130 for SIGINT, 143 for SIGTERM
    }
  }
  meta_.stage.clear();
  if (is_main_) {
    const std::string final_path = work_dir_->checkpoint_path("final.pt");
    save(final_path);
    work_dir_->set_last_checkpoint(final_path);
  }
  spdlog::info("training done: {}", work_dir_->root());
  return 0;
}

void Trainer::save(const std::string& path) {
  meta_.world_size = env_.world_size;
  meta_.config_yaml = dump_config(config_, false);
  meta_.began_k = began_.k;
  OptimizerMap optimizers;
  if (optimizer_) optimizers["pose"] = optimizer_.get();
  if (disc_optimizer_) optimizers["discriminator"] = disc_optimizer_.get();
  save_checkpoint(path, meta_, models_.modules(), optimizers);
}

std::string Trainer::checkpoint_now(const std::string& stage, const std::string& file_name) {
  const std::string dir = work_dir_->checkpoint_path(stage);
  const std::string path = (fs::path(dir) / file_name).string();
  dist_->barrier();
  if (is_main_) {
    ensure_writable_dir(dir);
    save(path);
    work_dir_->set_last_checkpoint(path);
  }
  dist_->barrier();
  pending_checkpoint_ = path;
  latest_checkpoint_ = path;
  return path;
}

int Trainer::agreed_stop_signal() {
  const int local = stop_signal();
  if (!dist_->enabled()) return local;
  auto votes = torch::tensor({local == SIGINT ? 1.0 : 0.0, local != 0 && local != SIGINT ? 1.0 : 0.0}, torch::kFloat64);
  dist_->all_reduce_sum(votes);
  if (votes[0].item<double>() > 0) return SIGINT;
  if (votes[1].item<double>() > 0) return SIGTERM;
  return 0;
}

bool Trainer::weights_finite() const {
  std::vector<torch::Tensor> peaks;
  auto add = [&peaks](const torch::Tensor& t) {
    if (t.defined() && t.numel() > 0 && t.is_floating_point())
      peaks.push_back(t.detach().abs().max().to(torch::kDouble));
  };
  for (const auto& p : params_) add(p);
  for (const auto& p : disc_params_) add(p);
  if (trained_)
    for (const auto& b : trained_->buffers()) add(b);
  // max propagates NaN, so one finite check covers every tensor.
  return peaks.empty() || torch::isfinite(torch::stack(peaks)).all().item<bool>();
}

void Trainer::check_finite(const std::string& stage, int64_t step, const std::map<std::string, double>& terms) {
  const auto stop = [&](const std::string& what, const std::string& condemned) {
    std::string message = "stage " + stage + ", iteration " + std::to_string(step) + ": " + what +
                          "; training stopped. Last good checkpoint: " +
                          (last_good_checkpoint_.empty() ? std::string("none yet") : last_good_checkpoint_);
    if (!condemned.empty()) {
      message += " (" + condemned + " holds the weights that produced it; renamed to " + condemned + ".nan)";
      // --resume must not continue from those weights, nor fall back to them.
      if (is_main_) {
        std::error_code ec;
        fs::rename(condemned, condemned + ".nan", ec);
        if (last_good_checkpoint_.empty()) {
          std::error_code ec;
          fs::remove(work_dir_->path("last_checkpoint"), ec);
        } else {
          work_dir_->set_last_checkpoint(last_good_checkpoint_);
        }
      }
    }
    throw Error(message + " (resume with --resume, perhaps with a lower train.lr)");
  };
  for (const auto& [name, value] : terms) {
    if (std::isfinite(value)) continue;
    stop("loss term '" + name + "' is " + (std::isnan(value) ? "NaN" : "Inf"), pending_checkpoint_);
  }
  // The loss was computed with the weights of the pending checkpoint: they are good.
  if (!pending_checkpoint_.empty()) {
    last_good_checkpoint_ = pending_checkpoint_;
    pending_checkpoint_.clear();
  }
  if (!weights_finite()) stop("the weights are NaN or Inf after the update", "");
}

std::map<std::string, double> Trainer::train_step(const std::string& stage, const Batch& batch, int64_t step,
                                                  double progress) {
  std::map<std::string, double> terms;
  const auto images = batch.images.to(device_);
  const auto targets = batch.heatmaps.to(device_);
  const auto weights = batch.weights.to(device_);

  if (stage != "dkd") {
    // Per-frame stages see clips of one frame: [B, 1, ...] -> [B, ...].
    PerFrameModel& model = stage == "initializer" ? models_.initializer : models_.baseline;
    const auto pred = model->forward(images.flatten(0, 1));
    const auto loss = heatmap_mse(pred, targets.flatten(0, 1), weights.flatten(0, 1));
    optimizer_->zero_grad();
    loss.backward();
    reducer_->reduce();
    clip_gradients(params_, config_.train.grad_clip);
    optimizer_->step();
    terms["loss_pose"] = loss.item<double>();
    return terms;
  }

  // DKD stage: the whole clip with back-propagation through time.
  const auto& tr = config_.train;
  DkdForwardOptions fwd;
  const double tf = tr.teacher_forcing_start + (tr.teacher_forcing_end - tr.teacher_forcing_start) * progress;
  if (tf > 0) {
    // Drawn from (seed, step) so a resumed run draws the same masks.
    std::mt19937_64 rng(static_cast<uint64_t>(config_.runtime.seed) * 1000003ULL + static_cast<uint64_t>(step));
    std::bernoulli_distribution coin(tf);
    auto mask = torch::zeros({images.size(0), images.size(1)}, torch::kBool);
    auto acc = mask.accessor<bool, 2>();
    for (int64_t b = 0; b < mask.size(0); ++b)
      for (int64_t t = 0; t < mask.size(1); ++t) acc[b][t] = coin(rng);
    fwd.gt_heatmaps = targets;
    fwd.teacher_mask = mask.to(device_);
  }
  if (models_.dkd->prior) {
    // Every frame's image -> heatmap affine: the prior maps H(t-1) into frame t's crop.
    std::vector<torch::Tensor> crops;
    for (const auto& sample : batch.transforms) {
      std::vector<CropTransform> heatmap_transforms;
      for (const auto& tr : sample) heatmap_transforms.push_back(tr.downscaled(kHeatmapStride));
      crops.push_back(crop_matrices(heatmap_transforms));
    }
    fwd.crops = torch::stack(crops).to(device_);
  }
  if (any_prior_corruption(tr.prior_corruption)) {
    // Its own stream of draws from (seed, step), like the teacher-forcing masks.
    auto rng = std::make_shared<std::mt19937_64>(static_cast<uint64_t>(config_.runtime.seed) * 7919ULL +
                                                 static_cast<uint64_t>(step) * 104729ULL + 17ULL);
    const Skeleton& skeleton = skeleton_for(config_.data.dataset);
    fwd.corrupt_previous = [rng, &skeleton, &tr](const torch::Tensor& previous, int64_t) {
      return corrupt_heatmaps(previous, tr.prior_corruption, skeleton, *rng);
    };
  }
  const auto out = models_.dkd->forward(images, fwd);
  const int64_t T = images.size(1);
  // Frame 0 comes from the (frozen) initializer: the pose loss covers t = 1..T-1.
  const auto pose_loss =
      heatmap_mse(out.heatmaps.narrow(1, 1, T - 1), targets.narrow(1, 1, T - 1), weights.narrow(1, 1, T - 1));
  terms["loss_pose"] = pose_loss.item<double>();
  terms["tf_prob"] = tf;

  torch::Tensor g_loss = pose_loss;
  const bool adversarial = tr.adversarial.enabled && models_.discriminator;
  torch::Tensor fake_energy;
  // Real clips have all-zero heatmaps for invisible joints; masking the
  // predictions alike leaves the discriminator only time and shape to judge.
  const auto fake_clip = adversarial && tr.adversarial.mask_invisible
                             ? out.heatmaps * weights.unsqueeze(-1).unsqueeze(-1).to(out.heatmaps.dtype())
                             : out.heatmaps;
  if (adversarial) {
    fake_energy = models_.discriminator->energy(fake_clip).mean();
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
    const auto real = models_.discriminator->energy(targets).mean();
    const auto fake = models_.discriminator->energy(fake_clip.detach()).mean();
    const auto d_loss = real - began_.k * fake;
    d_loss.backward();
    disc_reducer_->reduce();
    disc_optimizer_->step();
    double real_v = real.item<double>();
    double fake_v = fake.item<double>();
    // k must stay identical on every rank: update it from the mean energies.
    real_v = dist_->all_reduce_mean(real_v);
    fake_v = dist_->all_reduce_mean(fake_v);
    began_.update(real_v, fake_v);
    terms["d_real"] = real_v;
    terms["d_fake"] = fake_v;
    terms["d_loss"] = d_loss.item<double>();
    terms["began_k"] = began_.k;
    terms["began_m"] = began_.convergence(real_v, fake_v);
  }
  return terms;
}

double Trainer::validate(const std::string& stage, int64_t epoch) {
  if (val_videos_.empty()) return -1.0;
  for (auto& [name, module] : models_.modules()) dist_->sync_batchnorm_stats(*module);
  const auto start = Clock::now();
  EvalModel model = stage == "dkd"           ? EvalModel::dkd(models_.dkd)
                    : stage == "initializer" ? EvalModel::per_frame(models_.initializer)
                                             : EvalModel::per_frame(models_.baseline);
  PckOptions options;
  options.threshold = config_.eval.pck_threshold;
  // A fixed action list fixes the layout of the counts summed across ranks.
  options.actions = actions_of(val_videos_);
  PckEvaluator evaluator(config_.data.dataset, options);
  run_model_on_videos(model, val_videos_, config_, device_, evaluator, env_.rank, env_.world_size);
  if (dist_->enabled()) {
    auto counts = torch::tensor(evaluator.counts(), torch::kFloat64);
    dist_->all_reduce_sum(counts);
    const auto* p = counts.data_ptr<double>();
    evaluator.set_counts(std::vector<double>(p, p + counts.numel()));
  }
  const EvalResult result = evaluator.evaluate();
  const double pck = result.pck.mean_joints;
  spdlog::info(
      "validation {} epoch {}: PCK@{} mean over joints {:.2f} (columns {:.2f}, pooled {:.2f}), torso {:.2f} "
      "[{:.1f} s]",
      stage, epoch, config_.eval.pck_threshold, pck, result.pck.mean_columns, result.pck.pooled,
      result.pck_torso.mean_joints, seconds_since(start));
  if (is_main_) {
    nlohmann::json j = {{"type", "val"},
                        {"stage", stage},
                        {"epoch", epoch},
                        {"step", meta_.global_step},
                        {"pck", pck},
                        {"pck_mean_columns", result.pck.mean_columns},
                        {"pck_pooled", result.pck.pooled},
                        {"pck_torso", result.pck_torso.mean_joints},
                        {"videos", val_videos_.size()}};
    // Which videos chose best.pt: auditable, and never the test split.
    for (const auto& v : val_videos_) j["video_ids"].push_back(v.id);
    for (std::size_t c = 0; c < result.pck.columns.size(); ++c)
      j["pck_columns"][result.pck.column_names[c]] = result.pck.columns[c];
    metrics_.write(j);
  }
  return pck;
}

void Trainer::validate_and_keep_best(const std::string& stage, int64_t epoch, const std::string& file_name) {
  const double pck = validate(stage, epoch);
  if (pck <= meta_.best_metric) return;
  meta_.best_metric = pck;
  meta_.best_epoch = epoch;
  // Re-save so the checkpoint records its own validation result, then copy it as best.
  const std::string path = checkpoint_now(stage, file_name);
  if (is_main_) {
    for (const std::string& best : {work_dir_->best_path(), work_dir_->path("best_" + stage + ".pt")})
      copy_file_atomic(path, best);
    spdlog::info("new best {} PCK {:.2f} at epoch {} -> {}", stage, pck, epoch, work_dir_->best_path());
  }
  dist_->barrier();
}

void Trainer::finish_stage(const std::string& stage, int64_t epoch, const std::string& file_name) {
  if (std::find(meta_.completed_stages.begin(), meta_.completed_stages.end(), stage) != meta_.completed_stages.end())
    return;
  validate_and_keep_best(stage, epoch, file_name);
  meta_.completed_stages.push_back(stage);
  checkpoint_now(stage, file_name);
}

void Trainer::run_stage(const std::string& stage, const CheckpointMeta* resume) {
  const StageConfig& sc = stage_config(config_.train, stage);
  const auto& tr = config_.train;
  const bool dkd = stage == "dkd";

  if (dkd && !tr.initializer_checkpoint.empty() &&
      std::find(tr.stages.begin(), tr.stages.end(), "initializer") == tr.stages.end() && !resume) {
    load_model_weights(tr.initializer_checkpoint, {{"initializer", models_.initializer.ptr().get()}});
    spdlog::info("dkd: initializer weights from {}", tr.initializer_checkpoint);
  }
  if (dkd && tr.encoder_from_baseline && !resume) {
    const bool trained_here = stage_before(tr.stages, "baseline", "dkd");
    if (!trained_here) load_model_weights(tr.baseline_checkpoint, {{"baseline", models_.baseline.ptr().get()}});
    copy_weights(*models_.baseline->backbone, *models_.dkd->encoder->backbone);
    // The static path starts as the trained small network: DKD starts where it is.
    if (models_.dkd->matching->static_head)
      copy_weights(*models_.baseline->final_layer, *models_.dkd->matching->static_head);
    spdlog::info("dkd: encoder starts from the per-frame small baseline's trunk{} ({})",
                 models_.dkd->matching->static_head ? ", the static head from its heatmap head" : "",
                 trained_here ? "stage baseline of this run" : tr.baseline_checkpoint);
  }

  // Parameters trained in this stage.
  params_.clear();
  torch::nn::Module* trained = nullptr;
  if (stage == "initializer") {
    trained = models_.initializer.ptr().get();
    params_ = models_.initializer->parameters();
  } else if (stage == "baseline") {
    trained = models_.baseline.ptr().get();
    params_ = models_.baseline->parameters();
  } else {
    trained = models_.dkd.ptr().get();
    models_.dkd->set_initializer_frozen(tr.freeze_initializer);
    for (auto& p : models_.dkd->parameters())
      if (p.requires_grad()) params_.push_back(p);
  }
  trained_ = trained;
  const double lr = sc.lr.value_or(tr.lr);
  optimizer_ = make_optimizer(params_, tr, lr);
  disc_optimizer_.reset();
  disc_params_.clear();
  if (dkd && tr.adversarial.enabled) {
    disc_params_ = models_.discriminator->parameters();
    disc_optimizer_ = std::make_unique<torch::optim::Adam>(
        disc_params_, torch::optim::AdamOptions(tr.adversarial.lr).betas({0.5, 0.999}));
  }
  reducer_ = std::make_unique<GradientReducer>(*dist_, params_, config_.dist.bucket_mb);
  disc_reducer_ = std::make_unique<GradientReducer>(*dist_, disc_params_, config_.dist.bucket_mb);

  const int clip_length = dkd ? config_.data.clip_length : 1;
  ClipLoader loader(train_videos_, config_, clip_length, sc.batch_size, /*train=*/true,
                    static_cast<uint64_t>(config_.runtime.seed), env_.rank, env_.world_size);
  const int64_t steps_per_epoch = loader.size();
  if (steps_per_epoch == 0)
    throw DataError(config_.data.root, "stage " + stage + ": not enough training samples for one batch of " +
                                           std::to_string(sc.batch_size));
  LrSchedule schedule(tr, sc, lr, steps_per_epoch);
  int64_t total_steps = steps_per_epoch * sc.epochs;
  if (sc.max_iters > 0) total_steps = std::min<int64_t>(total_steps, sc.max_iters);

  if (resume) {
    OptimizerMap optimizers{{"pose", optimizer_.get()}};
    if (disc_optimizer_) optimizers["discriminator"] = disc_optimizer_.get();
    meta_ = load_checkpoint(resume_path_, models_.modules(), optimizers);
    began_.k = meta_.began_k;
  } else {
    meta_.stage = stage;
    meta_.epoch = 0;
    meta_.iter_in_epoch = 0;
    meta_.step = 0;
    meta_.best_metric = -1.0;
    meta_.best_epoch = -1;
    began_ = BeganBalance{tr.adversarial.k_init, tr.adversarial.gamma, tr.adversarial.lambda_k};
  }
  began_.gamma = tr.adversarial.gamma;
  began_.lambda_k = tr.adversarial.lambda_k;

  spdlog::info("stage {}: {} epochs x {} steps (batch {}, clip length {}), lr {}, {} trainable parameters", stage,
               sc.epochs, steps_per_epoch, sc.batch_size, clip_length, lr, [&] {
                 int64_t n = 0;
                 for (const auto& p : params_) n += p.numel();
                 return n;
               }());

  ScalarWindow window;
  double data_wait = 0.0;
  int64_t samples_in_window = 0;
  auto window_start = Clock::now();
  bool stage_over = meta_.step >= total_steps;
  int64_t end_epoch = std::max<int64_t>(meta_.epoch, 1);
  std::string end_file = "epoch_" + std::to_string(end_epoch) + ".pt";

  for (int64_t epoch = meta_.epoch; epoch < sc.epochs && !stage_over; ++epoch) {
    trained->train();
    loader.start_epoch(static_cast<int>(epoch), meta_.iter_in_epoch);
    ProgressBar bar(stage + " epoch " + std::to_string(epoch + 1) + "/" + std::to_string(sc.epochs),
                    (steps_per_epoch - meta_.iter_in_epoch) * sc.batch_size, dkd ? "clips" : "frames");
    for (;;) {
      if (meta_.step >= total_steps) {
        stage_over = true;
        break;
      }
      const auto wait_start = Clock::now();
      std::optional<Batch> batch = loader.next();
      data_wait += seconds_since(wait_start);
      if (!batch) break;

      const double progress = static_cast<double>(meta_.step) / static_cast<double>(std::max<int64_t>(1, total_steps));
      const double step_lr = schedule.lr_at(meta_.step);
      set_lr(*optimizer_, step_lr);
      auto terms = train_step(stage, *batch, meta_.step, progress);
      check_finite(stage, meta_.step, terms);
      ++meta_.step;
      ++meta_.global_step;
      ++meta_.iter_in_epoch;
      const int64_t batch_samples = batch->images.size(0) * env_.world_size;
      samples_in_window += batch_samples;
      for (const auto& [k, v] : terms) window.add(k, v);

      std::string status = "loss " + std::to_string(terms["loss_pose"]).substr(0, 8);
      if (terms.count("began_k")) status += " k " + std::to_string(began_.k).substr(0, 6);
      bar.tick(batch->images.size(0), status);

      if (meta_.step % tr.log_every == 0 && is_main_) {
        const double elapsed = seconds_since(window_start);
        nlohmann::json j = {{"type", "train"},           {"stage", stage},
                            {"epoch", epoch + 1},        {"iter", meta_.iter_in_epoch},
                            {"step", meta_.global_step}, {"lr", step_lr}};
        for (const auto& [k, v] : window.values()) j[k] = v.first / v.second;
        j[dkd ? "clips_per_s" : "frames_per_s"] = elapsed > 0 ? samples_in_window / elapsed : 0.0;
        j["data_wait_s"] = data_wait;
        j["data_wait_fraction"] = elapsed > 0 ? data_wait / elapsed : 0.0;
        metrics_.write(j);
        window.reset();
        data_wait = 0;
        samples_in_window = 0;
        window_start = Clock::now();
      }
      if (tr.checkpoint_every > 0 && meta_.step % tr.checkpoint_every == 0) {
        checkpoint_now(stage, "step_" + std::to_string(meta_.step) + ".pt");
        window.reset();
        data_wait = 0;
        samples_in_window = 0;
        window_start = Clock::now();
      }
      // Every rank learns of a signal to any rank, so all save this same step.
      agreed_stop_ = agreed_stop_signal();
      if (agreed_stop_ != 0) {
        bar.finish();
        checkpoint_now(stage, "interrupted_step_" + std::to_string(meta_.step) + ".pt");
        return;
      }
    }
    bar.finish();
    // Epoch end: checkpoint first, then evaluate (a crash in evaluation loses nothing).
    const bool epoch_complete = meta_.iter_in_epoch >= steps_per_epoch || !stage_over;
    if (epoch_complete) {
      meta_.epoch = epoch + 1;
      meta_.iter_in_epoch = 0;
    }
    const bool last = stage_over || meta_.epoch >= sc.epochs;
    end_file = "epoch_" + std::to_string(epoch + 1) + ".pt";
    end_epoch = epoch + 1;
    checkpoint_now(stage, end_file);
    window.reset();
    // The last epoch's validation is finish_stage's.
    const bool do_val = tr.val_every > 0 && (epoch + 1) % tr.val_every == 0 && !last;
    if (do_val) validate_and_keep_best(stage, epoch + 1, end_file);
    window_start = Clock::now();
    data_wait = 0;
    samples_in_window = 0;
  }
  // Also reached by a resume from the stage's last checkpoint, when a crash hit
  // its final validation: the stage is not complete until that validation ran.
  finish_stage(stage, end_epoch, end_file);
  spdlog::info("stage {} done: best PCK {:.2f} at epoch {}", stage, meta_.best_metric, meta_.best_epoch);
}

}  // namespace

int run_training(const Config& config, const TrainOptions& options) {
  Trainer trainer(config, options);
  return trainer.run();
}

}  // namespace dkd
