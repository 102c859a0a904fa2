#include "dkd/train/trainer.h"

#include <ATen/Parallel.h>

#include <torch/torch.h>

#include <chrono>
#include <csignal>
#include <cmath>
#include <filesystem>

#include "dkd/data/dataset.h"
#include "dkd/data/loader.h"
#include "dkd/dist/checkpoint_meta.h"
#include "dkd/dist/env.h"
#include "dkd/dist/process_group.h"
#include "dkd/models/model_set.h"
#include "dkd/models/checkpoint.h"
#include "dkd/train/optim.h"
#include "dkd/train/preflight.h"
#include "dkd/train/checkpointer.h"
#include "dkd/train/signals.h"
#include "dkd/train/stage.h"
#include "dkd/train/step_logger.h"
#include "dkd/train/validator.h"
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

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

/// Everything a run holds across stages. The stage being trained is a Stage
/// (train/stage.h); metrics, checkpoints and validation are collaborators
/// (StepLogger, Checkpointer, Validator), so run_stage only sequences them.
class Trainer {
 public:
  Trainer(const Config& config, const TrainOptions& options) : config_(config), options_(options) {}
  ~Trainer() {
    // The work dir is free for the next run in this process (tests train many).
    if (!work_dir_ || !is_main_) return;
    try {
      unlock_work_dir(work_dir_->root());
    } catch (...) {}
  }

  int run();

 private:
  void prepare();
  /// Refuses or moves aside a previous run, removes stale temporaries, picks the resume checkpoint.
  void prepare_work_dir();
  void run_stage(Stage& stage, const CheckpointMeta* resume);
  void save(const std::string& path);
  std::string checkpoint_now(const std::string& file_name);
  /// After each step: the loss terms (computed with the weights before the
  /// update) and the updated weights must be finite. A finite loss confirms the
  /// checkpoint taken just before the step; a NaN loss condemns it, and
  /// last_checkpoint is pointed back at the last confirmed one.
  void check_finite(int64_t step, const LossTerms& terms);
  bool weights_finite() const;
  /// The stop request agreed by all ranks (one small all-reduce): SIGINT when
  /// any rank got SIGINT, else SIGTERM when any got a signal, else 0.
  int agreed_stop_signal();
  /// End of a stage: validation, best.pt, and only then the stage marked complete.
  void finish_stage(int64_t epoch, const std::string& file_name);
  /// Validates after epoch `epoch` and, on a new best, re-saves `file_name` with it and copies it to best.pt.
  void validate_and_keep_best(int64_t epoch, const std::string& file_name);
  /// Copies `checkpoint` to best.pt and best_<stage>.pt.
  void copy_to_best(const std::string& checkpoint, const std::string& stage);
  /// A resume after a best.pt copy failed (a full disk): the resumed checkpoint
  /// records the new best, so its validation finds nothing better; the copy is
  /// made again from the checkpoint of the best epoch.
  void restore_missing_best(const CheckpointMeta& resumed);
  /// The parts a checkpoint of `resumed` holds for this run: all of them, the
  /// box network only once its stage has begun (a finished run extended by a
  /// box stage resumes from checkpoints written before that stage existed).
  std::map<std::string, torch::nn::Module*> resumable_modules(const CheckpointMeta& resumed) {
    auto out = models_.modules();
    const auto& done = resumed.completed_stages;
    if (resumed.stage != StageKind::box && std::find(done.begin(), done.end(), StageKind::box) == done.end())
      out.erase("box");
    return out;
  }
  bool completed(StageKind kind) const {
    return std::find(meta_.completed_stages.begin(), meta_.completed_stages.end(), kind) !=
           meta_.completed_stages.end();
  }

  Config config_;
  TrainOptions options_;
  DistEnv env_;
  std::unique_ptr<DistContext> dist_;
  torch::Device device_{torch::kCPU};
  std::unique_ptr<WorkDir> work_dir_;
  MetricsWriter metrics_;
  std::vector<VideoRecord> train_videos_;
  std::unique_ptr<Validator> validator_;
  std::unique_ptr<Checkpointer> checkpointer_;
  ModelSet models_;

  // State of the stage being trained (part of every checkpoint).
  CheckpointMeta meta_;
  std::unique_ptr<Stage> stage_;
  int agreed_stop_ = 0;
  std::string resume_path_;  ///< checkpoint a --resume continues from
  std::optional<CheckpointMeta> resume_meta_;
  bool is_main_ = true;
};

void Trainer::prepare_work_dir() {
  if (is_main_) {
    // Nothing else writes this folder while this run does (dkd_train --nproc's
    // ranks share the lock their launcher took).
    lock_work_dir(work_dir_->root());
    if (!options_.resume && work_dir_->holds_run()) {
      // Two runs in one folder mix their metrics and checkpoints, and a later
      // --resume would continue the old run under the new config.
      if (!options_.force)
        throw UsageError(work_dir_->root() +
                         " already holds a run (last_checkpoint, best.pt or checkpoints/); "
                         "continue it with --resume, or pass --force to move it aside and start a new one");
      spdlog::warn("--force: moved the previous run in {} to {}", work_dir_->root(), work_dir_->move_aside());
      // The lock moved aside with the old run; the new run locks the new folder.
      unlock_work_dir(work_dir_->root());
      lock_work_dir(work_dir_->root());
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
  check_training_inputs(config_, resume_meta_ ? resume_meta_->completed_stages : std::vector<StageKind>{},
                        resume_meta_ ? resume_meta_->stage : std::nullopt);
  work_dir_->prepare(config_, is_main_);
  checkpointer_ = std::make_unique<Checkpointer>(*work_dir_, *dist_, is_main_);
  spdlog::info("work dir: {}", work_dir_->root());
  spdlog::info("device {}, {} thread(s), seed {}{}", device_.str(), current_threads(), config_.runtime.seed,
               env_.enabled() ? ", rank " + std::to_string(env_.rank) + "/" + std::to_string(env_.world_size) : "");

  // Everything that can be wrong with the data is reported before training starts.
  train_videos_ = load_split(config_.data, SplitKind::train);
  // best.pt is chosen on videos held out of the training list; the test split is dkd_eval's alone.
  if (config_.data.val_fraction <= 0.0)
    throw ConfigError(
        "data.val_fraction is 0: training validates on held-out training videos to choose best.pt "
        "(the test split is for dkd_eval only); set data.val_fraction > 0, e.g. 0.1");
  std::vector<VideoRecord> val_videos = load_split(config_.data, SplitKind::val);
  if (config_.train.val_max_videos > 0 && static_cast<int>(val_videos.size()) > config_.train.val_max_videos)
    val_videos.resize(static_cast<std::size_t>(config_.train.val_max_videos));
  if (train_videos_.empty()) throw DataError(config_.data.root, "the training split has no videos");
  const int joints = train_videos_.front().num_joints;
  if (joints != config_.model.num_joints)
    throw ConfigError("model.num_joints is " + std::to_string(config_.model.num_joints) + " but " + config_.data.root +
                      " has " + std::to_string(joints) + " joints per frame");
  spdlog::info("data: {} train / {} validation videos from {}", train_videos_.size(), val_videos.size(),
               config_.data.root);
  validator_ = std::make_unique<Validator>(config_, std::move(val_videos), *dist_, device_, env_.rank, env_.world_size,
                                           is_main_ ? &metrics_ : nullptr);

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
    load_model_weights(path, resumable_modules(*resume));
    checkpointer_->resume_from(path);
    restore_missing_best(*resume);
    spdlog::info("resuming from {} (stage {}, epoch {}, step {})", path,
                 resume->stage ? name_of(*resume->stage) : "done", resume->epoch, resume->step);
  }
  const int64_t keep_step = resume ? resume->global_step : -1;
  if (is_main_) metrics_.open(work_dir_->path("metrics.jsonl"), options_.resume ? keep_step : -1);
  install_stop_handlers();

  meta_ = resume ? *resume : CheckpointMeta{};
  for (const StageKind kind : config_.train.stages) {
    if (completed(kind)) {
      spdlog::info("stage {}: already completed, skipped", name_of(kind));
      continue;
    }
    const bool resuming_this = resume && resume->stage == kind;
    // The last stage stays current after its loop: final.pt carries its optimizer state.
    stage_ = make_stage(kind, StageContext{config_, models_, *dist_, device_});
    run_stage(*stage_, resuming_this ? &*resume : nullptr);
    if (agreed_stop_ != 0) {
      spdlog::warn("stopped by signal {}; resume with --resume (checkpoint {})", agreed_stop_, checkpointer_->latest());
      return 128 + agreed_stop_;  // 130 for SIGINT, 143 for SIGTERM
    }
  }
  meta_.stage.reset();
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
  OptimizerMap optimizers;
  if (stage_) {
    stage_->save_state(meta_);
    optimizers = stage_->optimizers();
  }
  save_checkpoint(path, meta_, models_.modules(), optimizers);
}

std::string Trainer::checkpoint_now(const std::string& file_name) {
  return checkpointer_->write(name_of(stage_->kind()), file_name, [this](const std::string& path) { save(path); });
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
  for (const auto& p : stage_->updated_tensors()) add(p);
  for (const auto& b : stage_->trained().buffers()) add(b);
  // max propagates NaN, so one finite check covers every tensor.
  return peaks.empty() || torch::isfinite(torch::stack(peaks)).all().item<bool>();
}

void Trainer::check_finite(int64_t step, const LossTerms& terms) {
  const std::string stage = name_of(stage_->kind());
  const auto stop = [&](const std::string& what, const std::string& condemned) {
    std::string message = "stage " + stage + ", iteration " + std::to_string(step) + ": " + what +
                          "; training stopped. Last good checkpoint: " +
                          (checkpointer_->last_good().empty() ? std::string("none yet") : checkpointer_->last_good());
    if (!condemned.empty())
      message += " (" + condemned + " holds the weights that produced it; renamed to " + condemned + ".nan)";
    throw Error(message + " (resume with --resume, perhaps with a lower train.lr)");
  };
  for (const auto& [name, value] : terms) {
    if (std::isfinite(value)) continue;
    const std::string what = "loss term '" + name + "' is " + (std::isnan(value) ? "NaN" : "Inf");
    stop(what, checkpointer_->condemn_pending());
  }
  // The loss was computed with the weights of the pending checkpoint: they are good.
  checkpointer_->confirm_pending();
  if (!weights_finite()) stop("the weights are NaN or Inf after the update", "");
}

void Trainer::validate_and_keep_best(int64_t epoch, const std::string& file_name) {
  const std::string stage = name_of(stage_->kind());
  const std::optional<ModelKind> kind = stage_->validated_model();
  const double pck = kind ? validator_->validate(models_, *kind, stage, epoch, meta_.global_step)
                          : validator_->validate_boxes(models_, stage, epoch, meta_.global_step);
  if (pck <= meta_.best_metric) return;
  meta_.best_metric = pck;
  meta_.best_epoch = epoch;
  // Re-save so the checkpoint records its own validation result, then copy it as best.
  const std::string path = checkpoint_now(file_name);
  if (is_main_) {
    copy_to_best(path, stage);
    spdlog::info("new best {} {} {:.2f} at epoch {} -> {}", stage, kind ? "PCK" : "box accuracy", pck, epoch,
                 work_dir_->best_path());
  }
  dist_->barrier();
}

void Trainer::copy_to_best(const std::string& checkpoint, const std::string& stage) {
  for (const std::string& best : {work_dir_->best_path(), work_dir_->path("best_" + stage + ".pt")})
    copy_file_atomic(checkpoint, best);
}

void Trainer::restore_missing_best(const CheckpointMeta& resumed) {
  if (!is_main_ || !resumed.stage || resumed.best_epoch < 1) return;
  const std::string stage = name_of(*resumed.stage);
  std::error_code ec;
  if (fs::exists(work_dir_->path("best_" + stage + ".pt"), ec)) return;
  const std::string best = work_dir_->checkpoint_path(stage + "/epoch_" + std::to_string(resumed.best_epoch) + ".pt");
  if (!fs::exists(best, ec)) return;
  copy_to_best(best, stage);
  spdlog::info("{} was missing (a write that failed); copied again from {}", work_dir_->best_path(), best);
}

void Trainer::finish_stage(int64_t epoch, const std::string& file_name) {
  if (completed(stage_->kind())) return;
  validate_and_keep_best(epoch, file_name);
  meta_.completed_stages.push_back(stage_->kind());
  checkpoint_now(file_name);
}

void Trainer::run_stage(Stage& stage, const CheckpointMeta* resume) {
  const std::string name = name_of(stage.kind());
  const StageConfig& sc = stage_config(config_.train, stage.kind());
  const auto& tr = config_.train;

  // train.<stage>.threads: set for this stage, restored however it ends.
  struct ThreadsGuard {
    int saved = at::get_num_threads();
    ~ThreadsGuard() { at::set_num_threads(saved); }
  } threads_guard;
  if (sc.threads > 0) {
    at::set_num_threads(sc.threads);
    spdlog::info("stage {}: {} intra-op thread(s) (train.{}.threads)", name, sc.threads, name);
  }

  if (!resume) stage.initialize_weights();
  const double lr = sc.lr.value_or(tr.lr);
  stage.prepare(lr);

  const int clip_length = stage.clip_length();
  Config stage_data = config_;  // the stage's own crops (the box stage moves them)
  stage_data.data = stage.training_data(config_.data);
  std::vector<VideoRecord> stage_videos;  // with further data sets: the union of their training splits
  for (const std::string& root : stage.extra_training_roots()) {
    if (stage_videos.empty()) stage_videos = train_videos_;
    DataConfig extra = config_.data;
    extra.root = root;
    std::vector<VideoRecord> more = load_split(extra, SplitKind::train);
    for (const VideoRecord& v : more)
      if (v.num_joints != config_.model.num_joints)
        throw DataError(v.id, root + " has " + std::to_string(v.num_joints) +
                                  " joints per frame, model.num_joints is " + std::to_string(config_.model.num_joints));
    spdlog::info("stage {}: also {} training videos from {}", name, more.size(), root);
    stage_videos.insert(stage_videos.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  ClipLoader loader(stage_videos.empty() ? train_videos_ : stage_videos, stage_data, clip_length, sc.batch_size,
                    /*train=*/true, static_cast<uint64_t>(config_.runtime.seed), env_.rank, env_.world_size);
  const int64_t steps_per_epoch = loader.size();
  if (steps_per_epoch == 0)
    throw DataError(config_.data.root, "stage " + name + ": not enough training samples for one batch of " +
                                           std::to_string(sc.batch_size));
  LrSchedule schedule(tr, sc, lr, steps_per_epoch);
  int64_t total_steps = steps_per_epoch * sc.epochs;
  if (sc.max_iters > 0) total_steps = std::min<int64_t>(total_steps, sc.max_iters);

  if (resume) {
    meta_ = load_checkpoint(resume_path_, resumable_modules(*resume), stage.optimizers());
    stage.load_state(meta_);
  } else {
    meta_.stage = stage.kind();
    meta_.epoch = 0;
    meta_.iter_in_epoch = 0;
    meta_.step = 0;
    meta_.best_metric = -1.0;
    meta_.best_epoch = -1;
    stage.reset_state();
  }

  spdlog::info("stage {}: {} epochs x {} steps (batch {}, clip length {}), lr {}, {} trainable parameters", name,
               sc.epochs, steps_per_epoch, sc.batch_size, clip_length, lr, stage.trainable_parameters());

  StepLogger logger(std::string(stage.sample_unit()) + "_per_s");
  bool stage_over = meta_.step >= total_steps;
  int64_t end_epoch = std::max<int64_t>(meta_.epoch, 1);
  std::string end_file = "epoch_" + std::to_string(end_epoch) + ".pt";

  for (int64_t epoch = meta_.epoch; epoch < sc.epochs && !stage_over; ++epoch) {
    stage.trained().train();
    loader.start_epoch(static_cast<int>(epoch), meta_.iter_in_epoch);
    ProgressBar bar(name + " epoch " + std::to_string(epoch + 1) + "/" + std::to_string(sc.epochs),
                    (steps_per_epoch - meta_.iter_in_epoch) * sc.batch_size, stage.sample_unit());
    for (;;) {
      if (meta_.step >= total_steps) {
        stage_over = true;
        break;
      }
      const auto wait_start = std::chrono::steady_clock::now();
      std::optional<Batch> batch = loader.next();
      logger.add_data_wait(seconds_since(wait_start));
      if (!batch) break;

      const double progress = static_cast<double>(meta_.step) / static_cast<double>(std::max<int64_t>(1, total_steps));
      const double step_lr = schedule.lr_at(meta_.step);
      stage.set_lr(step_lr);
      const LossTerms terms = stage.step(*batch, meta_.step, progress);
      check_finite(meta_.step, terms);
      ++meta_.step;
      ++meta_.global_step;
      ++meta_.iter_in_epoch;
      logger.add_step(terms, batch->images.size(0) * env_.world_size);
      bar.tick(batch->images.size(0),
               "loss " + std::to_string(terms.at(stage.main_loss())).substr(0, 8) + stage.status(terms));

      if (meta_.step % tr.log_every == 0 && is_main_)
        logger.write(metrics_, {{"type", "train"},
                                {"stage", name},
                                {"epoch", epoch + 1},
                                {"iter", meta_.iter_in_epoch},
                                {"step", meta_.global_step},
                                {"lr", step_lr}});
      if (tr.checkpoint_every > 0 && meta_.step % tr.checkpoint_every == 0) {
        checkpoint_now("step_" + std::to_string(meta_.step) + ".pt");
        logger.reset();
      }
      // Every rank learns of a signal to any rank, so all save this same step.
      agreed_stop_ = agreed_stop_signal();
      if (agreed_stop_ != 0) {
        bar.finish();
        checkpoint_now("interrupted_step_" + std::to_string(meta_.step) + ".pt");
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
    checkpoint_now(end_file);
    // The last epoch's validation is finish_stage's.
    const bool do_val = tr.val_every > 0 && (epoch + 1) % tr.val_every == 0 && !last;
    if (do_val) validate_and_keep_best(epoch + 1, end_file);
    logger.reset();
  }
  // Also reached by a resume from the stage's last checkpoint, when a crash hit
  // its final validation: the stage is not complete until that validation ran.
  finish_stage(end_epoch, end_file);
  spdlog::info("stage {} done: best {} {:.2f} at epoch {}", name, stage.validated_model() ? "PCK" : "box accuracy",
               meta_.best_metric, meta_.best_epoch);
}

}  // namespace

int run_training(const Config& config, const TrainOptions& options) {
  Trainer trainer(config, options);
  return trainer.run();
}

}  // namespace dkd
