#pragma once
// A training stage: what it trains, one optimisation step returning named loss
// terms, and the model its validation evaluates. The trainer (trainer.cpp)
// runs any stage the same way -- loader, schedule, logging, checkpoints,
// validation -- so a new stage is one more implementation of this interface
// (and a StageKind), and a new loss term is a line in its step().
//
//   per_frame_stage.cpp  initializer and baseline: one frame per sample, heatmap MSE
//   dkd_stage.cpp        DKD on clips: back-propagation through time, location
//                        prior, teacher forcing, prior corruption, BEGAN
//   box_stage.cpp        the tracker's box network on moved and scaled crops
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <torch/nn/module.h>

#include "dkd/config/config.h"
#include "dkd/models/checkpoint.h"
#include "dkd/models/model_set.h"

namespace dkd {

class DistContext;
class GradientReducer;
struct Batch;

/// The named scalars of one step ("loss_pose", "d_real", ...), logged to metrics.jsonl.
using LossTerms = std::map<std::string, double>;

/// What a stage shares with the run: the config, every network, the process
/// group and the device.
struct StageContext {
  const Config& config;
  ModelSet& models;
  DistContext& dist;
  c10::Device device;
};

class Stage {
 public:
  explicit Stage(StageContext context) : ctx_(context) {}
  virtual ~Stage() = default;
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;

  virtual StageKind kind() const = 0;
  /// Frames per training sample (1 for the per-frame stages).
  virtual int clip_length() const { return 1; }
  /// What a sample is, for logs and progress ("frames" or "clips").
  virtual const char* sample_unit() const { return "frames"; }
  /// A fresh start (not a resume): take weights from earlier stages or
  /// checkpoints as the config asks.
  virtual void initialize_weights() {}
  /// Builds the optimizers (learning rate `lr`) and gradient reducers.
  virtual void prepare(double lr) = 0;
  /// One optimisation step on `batch` at stage step `step`; `progress` is
  /// step / total steps. Returns the loss terms (computed before the update).
  virtual LossTerms step(const Batch& batch, int64_t step, double progress) = 0;
  /// Sets the learning rate of the pose optimizer (the schedule's value).
  virtual void set_lr(double lr) = 0;

  /// The module in training (train()/eval() mode, buffers checked for NaN).
  virtual torch::nn::Module& trained() = 0;
  /// The parameters the pose optimizer updates.
  virtual std::vector<torch::Tensor> parameters() const = 0;
  /// Every tensor updated by this stage's optimizers (the parameters, and the
  /// discriminator's in the adversarial DKD stage).
  virtual std::vector<torch::Tensor> updated_tensors() const { return parameters(); }
  /// The optimizers whose state goes into a checkpoint, by name.
  virtual OptimizerMap optimizers() = 0;
  /// Stage state beyond weights and optimizers (BEGAN's k) to and from a checkpoint.
  virtual void save_state(CheckpointMeta& meta) const {}
  virtual void load_state(const CheckpointMeta& meta) {}
  /// Resets that state for a fresh start.
  virtual void reset_state() {}
  /// The loss term the progress bar shows.
  virtual const char* main_loss() const { return "loss_pose"; }
  /// Extra text for the progress bar after the loss ("k 0.0123").
  virtual std::string status(const LossTerms& terms) const { return ""; }

  /// The pose model the stage's validation evaluates (PCK); nullopt for the box
  /// stage, validated by its boxes (Validator::validate_boxes).
  std::optional<ModelKind> validated_model() const { return pose_model_of(kind()); }
  /// The data pipeline of this stage's training samples, from the run's
  /// (the box stage moves and scales its crops).
  virtual DataConfig training_data(const DataConfig& data) const { return data; }
  /// Further data set roots whose training splits this stage trains on too.
  virtual std::vector<std::string> extra_training_roots() const { return {}; }
  /// Number of trained parameters (for the log).
  int64_t trainable_parameters() const;

 protected:
  StageContext ctx_;
};

/// One module's parameters with their optimizer and gradient reducer: the
/// update of a stage with one loss (the per-frame and box stages).
class SingleOptimizer {
 public:
  SingleOptimizer();
  ~SingleOptimizer();
  /// Optimizer (train.optimizer at `lr`) and reducer over `module`'s parameters.
  void prepare(torch::nn::Module& module, const StageContext& context, double lr);
  /// zero_grad, backward of `loss`, gradients reduced over ranks and clipped (train.grad_clip), step.
  void update(const torch::Tensor& loss);
  void set_lr(double lr);
  const std::vector<torch::Tensor>& parameters() const { return params_; }
  torch::optim::Optimizer* optimizer() const { return optimizer_.get(); }

 private:
  double grad_clip_ = 0.0;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<GradientReducer> reducer_;
};

/// The per-frame stages: initializer (large network) and baseline (small network).
std::unique_ptr<Stage> make_per_frame_stage(StageKind kind, StageContext context);
/// The DKD stage.
std::unique_ptr<Stage> make_dkd_stage(StageContext context);
/// The box stage: the tracker's box network (models/box_net.h).
std::unique_ptr<Stage> make_box_stage(StageContext context);
/// The stage of `kind`.
std::unique_ptr<Stage> make_stage(StageKind kind, StageContext context);

}  // namespace dkd
