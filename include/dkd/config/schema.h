#pragma once
// The config schema: one typed struct per section. Every setting lives in
// exactly one place: the `visit` member of its struct lists the YAML key, the
// member, a one-line help and the allowed values. The loader, the validator,
// the YAML dumper, the equality test and the key list used for "did you mean"
// suggestions are all generic visitors over that list, so adding a field is
// one line. Loading and dumping YAML is config.h's (src/config/config.cpp);
// the key list, the cross-field rules and the value text are here
// (src/config/schema.cpp).
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "dkd/config/dataset_spec.h"
#include "dkd/config/kinds.h"

namespace dkd {

/// Allowed values of one field. Numeric bounds apply to numbers and to each
/// element of a list; `choices` to strings; `length` to lists.
struct Check {
  std::optional<double> min;
  std::optional<double> max;
  bool min_exclusive = false;
  std::vector<std::string> choices;
  std::vector<double> allowed;
  std::optional<std::size_t> length;

  static Check none() { return {}; }
  static Check range(double lo, double hi) {
    Check c;
    c.min = lo;
    c.max = hi;
    return c;
  }
  static Check at_least(double lo) {
    Check c;
    c.min = lo;
    return c;
  }
  static Check positive() {
    Check c;
    c.min = 0.0;
    c.min_exclusive = true;
    return c;
  }
  static Check one_of(std::initializer_list<const char*> values) {
    Check c;
    for (const char* v : values) c.choices.emplace_back(v);
    return c;
  }
  static Check values(std::initializer_list<double> v) {
    Check c;
    c.allowed.assign(v.begin(), v.end());
    return c;
  }
  Check& with_length(std::size_t n) {
    length = n;
    return *this;
  }
};

struct RuntimeConfig {
  std::string device = "cpu";
  int threads = 0;
  int64_t seed = 42;
  bool deterministic = false;
  LogLevel log_level = LogLevel::info;

  template <class V>
  void visit(V& v) {
    v.field("device", device, "cpu, cuda or cuda:N", Check::none());
    v.field("threads", threads, "intra-op threads; 0 = all cores", Check::range(0, 4096));
    v.field("seed", seed, "random seed (rank r uses seed + r)", Check::at_least(0));
    v.field("deterministic", deterministic, "deterministic algorithms; with threads: 1 runs repeat exactly",
            Check::none());
    v.field("log_level", log_level, "trace, debug, info, warn or error", Check::none());
  }
};

struct DataConfig {
  std::string dataset = "penn";
  std::string root = "data/synthetic";
  int split = 1;
  std::vector<int> input_size = {256, 256};
  double heatmap_sigma = 2.0;
  int clip_length = 5;
  int stride_min = 1;
  int stride_max = 3;
  double box_scale = 1.25;
  double scale_factor = 0.25;
  double shift_factor = 0.0;
  double rotation = 30.0;
  bool flip = true;
  double color_jitter = 0.2;
  int workers = 2;
  int prefetch = 4;
  bool cache = false;
  bool skip_bad_videos = false;
  double jhmdb_box_margin = 0.15;
  int max_videos = 0;
  double val_fraction = 0.1;

  template <class V>
  void visit(V& v) {
    v.field("dataset", dataset, "data set of data.root, by its registered name (penn, jhmdb; config/dataset_spec.h)",
            Check::none());
    v.field("root", root, "data set folder (relative paths are from the working directory)", Check::none());
    v.field("split", split, "numbered split of a data set that has several (Sub-JHMDB: 1, 2 or 3; ignored for penn)",
            Check::at_least(1));
    v.field("input_size", input_size, "network input [width, height]; multiples of 32",
            Check::range(32, 4096).with_length(2));
    v.field("heatmap_sigma", heatmap_sigma, "Gaussian sigma of target heatmaps (heatmap pixels)", Check::positive());
    v.field("clip_length", clip_length, "frames per training clip (T)", Check::range(2, 64));
    v.field("stride_min", stride_min, "smallest temporal stride between clip frames", Check::range(1, 16));
    v.field("stride_max", stride_max, "largest temporal stride between clip frames", Check::range(1, 16));
    v.field("box_scale", box_scale, "person box enlargement before cropping", Check::range(1.0, 3.0));
    v.field("scale_factor", scale_factor, "random scale augmentation: 1 +- this", Check::range(0.0, 0.9));
    v.field("shift_factor", shift_factor,
            "random shift of each training crop, each axis uniform in +- this fraction of the crop (as mmpose's "
            "shift_factor): models that see off-centre people follow a tracked box; 0 = off",
            Check::range(0.0, 0.5));
    v.field("rotation", rotation, "random rotation augmentation, degrees (+-)", Check::range(0.0, 180.0));
    v.field("flip", flip, "random horizontal flip with left/right joint swap", Check::none());
    v.field("color_jitter", color_jitter, "brightness/contrast/saturation jitter strength", Check::range(0.0, 1.0));
    v.field("workers", workers, "loader worker threads", Check::range(0, 64));
    v.field("prefetch", prefetch, "batches queued ahead by the loader", Check::range(1, 256));
    v.field("cache", cache, "keep decoded frames in memory", Check::none());
    v.field("skip_bad_videos", skip_bad_videos,
            "train on the good videos of a data set with problems (each skip is logged)", Check::none());
    v.field("jhmdb_box_margin", jhmdb_box_margin,
            "JHMDB without puppet masks: joints' extent enlarged by this fraction", Check::range(0.0, 2.0));
    v.field("max_videos", max_videos, "use only the first N videos of each split; 0 = all", Check::at_least(0));
    v.field("val_fraction", val_fraction,
            "fraction of the training videos held out (whole videos, chosen by a hash of the video id) as "
            "the validation split that selects best.pt; 0 = none",
            Check::range(0.0, 0.5));
  }
};

/// A ResNet trunk plus the SimpleBaseline deconvolution head.
struct BackboneConfig {
  int depth = 18;
  double width = 1.0;
  int stages = 4;
  int deconv_layers = 3;
  int deconv_filters = 256;
  int deconv_kernel = 4;
  std::string pretrained;
  DeconvImpl deconv_impl = DeconvImpl::transposed;
  int stem_kernel = 7;
  NetworkKind network = NetworkKind::resnet;
  LandmarkHeatmapKind landmark_heatmaps = LandmarkHeatmapKind::rendered;

  template <class V>
  void visit(V& v) {
    v.field("network", network,
            "resnet (this project's ResNet + deconvolution head, the fields below) or blazepose_lite / "
            "blazepose_full / blazepose_heavy: the imported pretrained BlazePose network (tools/fetch_models.sh; "
            "docs/real-people.md), its landmarks mapped to the data set's joints; initializer only",
            Check::none());
    v.field("landmark_heatmaps", landmark_heatmaps,
            "BlazePose only: rendered (Gaussians of data.heatmap_sigma at its regressed landmarks, peak = the "
            "joint's visibility) or network (its own 64x64 heatmaps after a sigmoid, resampled into the crop; "
            "joints made of several landmarks are rendered)",
            Check::none());
    v.field("stem_kernel", stem_kernel,
            "kernel of the stride-2 stem convolution: 7 (ResNet, needed for ImageNet weights), 5 or 3 (for a "
            "narrow trunk at small inputs the 7x7 stem is about half the multiply-adds)",
            Check::values({3, 5, 7}));
    v.field("deconv_impl", deconv_impl,
            "how the stride-2 deconvolutions run: transposed (ConvTranspose2d, through the BLAS) or subpixel "
            "(the same map as one 2x2 convolution with 4x the output channels and a pixel shuffle, through "
            "oneDNN/cuDNN; exact, the same parameters and checkpoints); which is faster depends on the head's "
            "width (measurements in docs/experiments.md)",
            Check::none());
    v.field("depth", depth, "ResNet depth: 18, 34, 50, 101 or 152", Check::values({18, 34, 50, 101, 152}));
    v.field("width", width, "channel width multiplier of the trunk", Check::range(0.0625, 4.0));
    v.field("stages", stages, "ResNet stages used (1-4); output stride 4*2^(stages-1) before deconvolution",
            Check::range(1, 4));
    v.field("deconv_layers", deconv_layers, "stride-2 deconvolution layers of the head", Check::range(0, 5));
    v.field("deconv_filters", deconv_filters, "channels of each deconvolution layer", Check::range(1, 4096));
    v.field("deconv_kernel", deconv_kernel, "deconvolution kernel size: 2, 3 or 4", Check::range(2, 4));
    v.field("pretrained", pretrained, "PyTorch state_dict (torch.save) loaded by parameter name; empty = none",
            Check::none());
  }
};

struct DistillatorConfig {
  int channels = 256;
  int kernel_size = 7;
  MatchingKind matching = MatchingKind::per_joint;
  bool pool_first = false;
  KernelSource kernels = KernelSource::pooled;
  NormKind norm = NormKind::batch;
  bool static_head = false;
  bool normalize = false;
  PriorKind prior = PriorKind::none;
  int prior_channels = 16;
  PriorFusion prior_fusion = PriorFusion::conv3x3;
  bool prior_gate = false;
  bool prior_features = false;

  template <class V>
  void visit(V& v) {
    v.field("prior", prior,
            "location prior: none (the paper) or warped (H(t-1) mapped into frame t's crop through the known crop "
            "transforms and fused with the matching response by a small learned head)",
            Check::none());
    v.field("prior_channels", prior_channels,
            "hidden channels of the location-prior fusion head (grouped: a multiple of model.num_joints, "
            "prior_channels / num_joints per joint)",
            Check::range(1, 1024));
    v.field("prior_fusion", prior_fusion,
            "location-prior fusion head: conv3x3 (two 3x3 convolutions, 2J -> C -> J) or pointwise (two 1x1 "
            "convolutions, about 1/9 of the multiply-adds; the warped prior already carries the position) or "
            "grouped (two 3x3 convolutions per joint over that joint's response and prior only, about 1/J of "
            "conv3x3's multiply-adds at the same hidden width)",
            Check::none());
    v.field("prior_gate", prior_gate,
            "per-joint confidence gate on the location prior: from how well the response and the warped prior "
            "agree (expected prior under the response's soft-argmax distribution, distance of their soft-argmax "
            "positions, both peaks), a gate in (0, 1) scales the prior's correction, so a joint whose prior "
            "disagrees with the frame's own evidence falls back to the static path",
            Check::none());
    v.field("prior_features", prior_features,
            "the location-prior fusion head also sees the frame's features F(t) (which joint is where, not only "
            "how strongly the kernels respond): fuse([R(t), warp(H(t-1)), F(t)])",
            Check::none());
    v.field("kernels", kernels,
            "how kernels are built from the previous frame: pooled (the paper: convolutions and pooling over "
            "[F(t-1), H(t-1)]) or joint_centred (kernel j = F(t-1) around joint j, weighted by H(t-1)_j, then a "
            "learned 1x1 adjust layer, as Siamese trackers build their exemplar)",
            Check::none());
    v.field("norm", norm, "normalisation in the pooled distillator: batch (the paper), group or none", Check::none());
    v.field("static_head", static_head,
            "add a 1x1 heatmap head on F(t) to the matching response (a static path; starts from the per-frame "
            "small network's head with train.encoder_from_baseline)",
            Check::none());
    v.field("normalize", normalize,
            "match L2-normalised features with L2-normalised kernels (cosine similarity, learned scale) instead of "
            "raw ReLU features, whose energy lights up clutter",
            Check::none());
    v.field("channels", channels, "hidden channels of the distillator", Check::range(1, 4096));
    v.field("pool_first", pool_first, "2x2 max-pool before (not after) each 3x3 conv stage: ~3x fewer distillator MACs",
            Check::none());
    v.field("kernel_size", kernel_size, "spatial size k of each pose kernel (odd)", Check::range(1, 31));
    v.field("matching", matching, "per_joint: J kernels of CxKxK; depthwise: one CxKxK kernel then 1x1 to J",
            Check::none());
  }
};

struct DiscriminatorConfig {
  int channels = 32;
  int embedding = 64;
  int input_size = 32;

  template <class V>
  void visit(V& v) {
    v.field("channels", channels, "base channels of the BEGAN auto-encoder", Check::range(1, 1024));
    v.field("embedding", embedding, "bottleneck size of the auto-encoder", Check::range(1, 4096));
    v.field("input_size", input_size, "heatmaps are resized to this square size; 0 = keep heatmap size",
            Check::range(0, 512));
  }
};

/// The tracker's box network (models/box_net.h; infer.box_rule: network).
struct BoxNetConfig {
  int input_size = 96;
  int channels = 16;

  template <class V>
  void visit(V& v) {
    v.field("input_size", input_size,
            "side the crop is area-resampled to before the box network (a multiple of 8; the quickstart's 96 is its "
            "crop as it is: resampled to 64, the centre error on new videos was 1.4 points of the box higher)",
            Check::range(16, 512));
    v.field("channels", channels, "channels of its first layer (2x in the four after it)", Check::range(1, 256));
  }
};

struct ModelConfig {
  int num_joints = 13;
  BackboneConfig initializer{50, 1.0, 4, 3, 256, 4, ""};
  BackboneConfig encoder{18, 1.0, 4, 3, 256, 4, ""};
  DistillatorConfig distillator;
  DiscriminatorConfig discriminator;
  BoxNetConfig box;

  template <class V>
  void visit(V& v) {
    v.field("num_joints", num_joints, "J: 13 for Penn Action, 15 for JHMDB", Check::range(1, 64));
    v.section("initializer", initializer, "pose initializer (per-frame large network)");
    v.section("encoder", encoder, "frame encoder (small network)");
    v.section("distillator", distillator, "pose kernel distillator and kernel matching");
    v.section("discriminator", discriminator, "temporal discriminator (BEGAN)");
    v.section("box", box,
              "the tracker's box network: where the person's box is in a crop taken around a moved box (stage box; "
              "infer.box_rule: network)");
  }
};

/// Schedule of one training stage.
struct StageConfig {
  int epochs = 10;
  int batch_size = 16;
  std::optional<double> lr;
  std::vector<int> milestones;
  int max_iters = 0;
  int threads = 0;
  Precision precision = Precision::float32;

  template <class V>
  void visit(V& v) {
    v.field("epochs", epochs, "epochs of this stage", Check::range(0, 100000));
    v.field("batch_size", batch_size, "samples (frames or clips) per step", Check::range(1, 4096));
    v.field("lr", lr, "learning rate of this stage; unset = train.lr", Check::positive());
    v.field("milestones", milestones, "epochs at which multistep decays the lr by train.gamma", Check::at_least(1));
    v.field("max_iters", max_iters, "stop the stage after this many steps; 0 = no limit", Check::at_least(0));
    v.field("threads", threads,
            "intra-op CPU threads while this stage trains; 0 = runtime.threads (a small model's many tiny "
            "operators can run faster on one thread than on threads that share the cores with data.workers)",
            Check::at_least(0));
    v.field("precision", precision,
            "arithmetic of the forward pass: float32, or bfloat16 (autocast: convolutions in bfloat16, parameters, "
            "gradients and optimizer state in float; faster on CPUs with AVX512-BF16 or AMX and on recent GPUs); "
            "per-frame stages (initializer, baseline) only",
            Check::none());
  }
};

struct AdversarialConfig {
  bool enabled = true;
  double lambda_adv = 0.01;
  double gamma = 0.5;
  double lambda_k = 0.001;
  double lr = 1e-4;
  double k_init = 0.0;
  bool mask_invisible = true;

  template <class V>
  void visit(V& v) {
    v.field("mask_invisible", mask_invisible,
            "zero the predicted heatmaps of invisible joints before the discriminator, as they are in real clips "
            "(false = the paper's setting, where that difference alone tells real from fake)",
            Check::none());
    v.field("enabled", enabled, "temporally adversarial training with the BEGAN discriminator", Check::none());
    v.field("lambda_adv", lambda_adv, "weight of the adversarial term in the generator loss", Check::at_least(0.0));
    v.field("gamma", gamma, "BEGAN diversity ratio", Check::range(0.0, 1.0));
    v.field("lambda_k", lambda_k, "BEGAN k learning rate", Check::at_least(0.0));
    v.field("lr", lr, "discriminator learning rate (Adam)", Check::positive());
    v.field("k_init", k_init, "initial BEGAN k", Check::range(0.0, 1.0));
  }
};

/// Realistic failures injected into the previous frame's heatmaps in the dkd
/// stage, so a model with a location prior learns when not to trust it. Each
/// is a probability per (clip, step, joint); the frame-0 heatmaps from the
/// initializer are corrupted too.
struct PriorCorruptionConfig {
  double swap = 0.0;
  double jump = 0.0;
  double drop = 0.0;

  template <class V>
  void visit(V& v) {
    v.field("swap", swap, "left/right swap of a joint pair's heatmaps", Check::range(0.0, 1.0));
    v.field("jump", jump, "a joint's heatmap replaced by another joint's (a jump to another limb)",
            Check::range(0.0, 1.0));
    v.field("drop", drop, "a joint's heatmap zeroed (a lost joint)", Check::range(0.0, 1.0));
  }
};

struct TrainConfig {
  std::vector<StageKind> stages = {StageKind::initializer, StageKind::dkd};
  std::string work_dir;
  OptimizerKind optimizer = OptimizerKind::adam;
  double lr = 1e-3;
  double momentum = 0.9;
  bool nesterov = false;
  double weight_decay = 0.0;
  double grad_clip = 0.0;
  double initializer_targets = 0.0;
  ScheduleKind schedule = ScheduleKind::multistep;
  double gamma = 0.1;
  int warmup_iters = 0;
  int val_every = 1;
  int val_max_videos = 0;
  int log_every = 20;
  int checkpoint_every = 0;
  StageConfig initializer;
  StageConfig baseline;
  StageConfig dkd{10, 8, std::nullopt, {}, 0};
  StageConfig box{4, 64, std::nullopt, {}, 0};
  double box_shift = 0.25;
  double box_scale = 0.25;
  std::string box_data;
  std::string initializer_checkpoint;
  bool encoder_from_baseline = false;
  std::string baseline_checkpoint;
  bool freeze_initializer = true;
  double teacher_forcing_start = 0.0;
  double teacher_forcing_end = 0.0;
  PriorCorruptionConfig prior_corruption;
  AdversarialConfig adversarial;

  template <class V>
  void visit(V& v) {
    v.field("stages", stages, "stages to run in order", Check::none());
    v.field("work_dir", work_dir, "output folder; empty = work_dirs/<config file name>", Check::none());
    v.field("optimizer", optimizer, "adam, sgd or rmsprop", Check::none());
    v.field("lr", lr, "base learning rate", Check::positive());
    v.field("momentum", momentum, "momentum (sgd, rmsprop)", Check::range(0.0, 1.0));
    v.field("nesterov", nesterov, "Nesterov momentum (sgd)", Check::none());
    v.field("weight_decay", weight_decay, "L2 weight decay", Check::at_least(0.0));
    v.field("grad_clip", grad_clip, "clip the gradient norm to this; 0 = off", Check::at_least(0.0));
    v.field("schedule", schedule, "lr schedule: constant, multistep or cosine", Check::none());
    v.field("gamma", gamma, "multistep decay factor", Check::range(0.0, 1.0));
    v.field("warmup_iters", warmup_iters, "linear lr warm-up steps at the start of each stage", Check::at_least(0));
    v.field("val_every", val_every, "validate every N epochs; 0 = only at the end", Check::at_least(0));
    v.field("val_max_videos", val_max_videos,
            "validate during training on the first N validation videos (a quicker estimate); 0 = all",
            Check::at_least(0));
    v.field("log_every", log_every, "write metrics every N steps", Check::at_least(1));
    v.field("checkpoint_every", checkpoint_every,
            "also checkpoint every N steps (besides each epoch end); 0 = epoch ends only", Check::at_least(0));
    v.section("initializer", initializer, "stage 1: per-frame large network (pose initializer)");
    v.section("baseline", baseline, "per-frame small network (encoder + 1x1 head)");
    v.section("dkd", dkd, "DKD stage on clips");
    v.section("box", box, "the tracker's box network (infer.box_rule: network)");
    v.field("box_shift", box_shift,
            "box stage: each training crop moved by up to this fraction of its side per axis (where a tracked box "
            "may be), so the network learns where the person is, not where the crop is",
            Check::range(0.0, 0.5));
    v.field("box_scale", box_scale, "box stage: each training crop scaled by 1 +- this", Check::range(0.0, 0.9));
    v.field("box_data", box_data,
            "box stage: a second data set (same format and joints as data.root) whose training split the box "
            "network also trains on; it learns where people are from more people than the pose networks need "
            "(the quickstart adds a second synthetic set); empty = data.root only",
            Check::none());
    v.field("initializer_checkpoint", initializer_checkpoint,
            "dkd stage: take the trained initializer from this checkpoint", Check::none());
    v.field("encoder_from_baseline", encoder_from_baseline,
            "dkd stage: start the encoder from the trained per-frame small baseline's trunk "
            "(stage baseline of this run, else train.baseline_checkpoint)",
            Check::none());
    v.field("baseline_checkpoint", baseline_checkpoint,
            "checkpoint with a trained baseline, for train.encoder_from_baseline", Check::none());
    v.field("freeze_initializer", freeze_initializer, "keep the initializer fixed in the dkd stage", Check::none());
    v.field("initializer_targets", initializer_targets,
            "dkd stage: blend the initializer's own heatmaps of each frame into the targets, target = (1 - w) "
            "ground truth + w initializer (knowledge distillation from the large network); 0 = ground truth only",
            Check::range(0.0, 1.0));
    v.field("teacher_forcing_start", teacher_forcing_start,
            "probability of feeding ground truth H(t-1) at the start of the dkd stage", Check::range(0.0, 1.0));
    v.field("teacher_forcing_end", teacher_forcing_end, "the same probability at the end (linear decay)",
            Check::range(0.0, 1.0));
    v.section("prior_corruption", prior_corruption,
              "dkd stage: failure modes injected into H(t-1) during training (model.distillator.prior)");
    v.section("adversarial", adversarial, "temporally adversarial training (BEGAN)");
  }
};

struct EvalConfig {
  EvalSplit split = EvalSplit::test;
  bool flip_test = false;
  double pck_threshold = 0.2;
  int speed_frames = 100;
  int warmup_frames = 10;
  int video_length = 40;
  HeatmapDecoder decode = HeatmapDecoder::dark;
  BoxSource boxes = BoxSource::ground_truth;
  double box_offset_x = 0.0;
  double box_offset_y = 0.0;
  int batch_videos = 8;

  template <class V>
  void visit(V& v) {
    v.field("split", split, "train (without the validation videos), val or test", Check::none());
    v.field("decode", decode,
            "heatmap decoding: argmax (quarter-pixel shift) or dark (Taylor expansion of the log-heatmap)",
            Check::none());
    v.field("boxes", boxes,
            "crop boxes: ground_truth (each frame's own box, as the papers evaluate) or tracked (first "
            "frame's ground-truth box, then the box from the previous prediction, as dkd_infer does)",
            Check::none());
    v.field("box_offset_x", box_offset_x,
            "crop-anchoring test: every ground-truth box (with eval.boxes=tracked the first one) moved right by this "
            "fraction of its larger side; the report says how far the predictions moved with it",
            Check::range(-1.0, 1.0));
    v.field("box_offset_y", box_offset_y, "the same, downwards", Check::range(-1.0, 1.0));
    v.field("flip_test", flip_test, "average with the horizontally flipped input", Check::none());
    v.field("batch_videos", batch_videos,
            "videos evaluated together in one batch, frame by frame (each with its own DKD keyframes)",
            Check::range(1, 256));
    v.field("pck_threshold", pck_threshold, "PCK threshold (fraction of the normaliser)", Check::positive());
    v.field("speed_frames", speed_frames, "frames timed for speed (median)", Check::at_least(1));
    v.field("warmup_frames", warmup_frames, "untimed frames before timing", Check::at_least(0));
    v.field("video_length", video_length, "frames per video for the per-video GMACs average", Check::at_least(1));
  }
};

struct InferConfig {
  int reinit_every = 0;
  double reinit_confidence = 0.0;
  BoxRuleKind box_rule = BoxRuleKind::steady;
  double box_smoothing = 0.5;
  double box_scale = 1.25;
  double box_min_confidence = 0.3;
  double box_max_size_change = 0.02;
  double box_velocity = 0.0;
  double box_center_smoothing = 0.9;
  double box_network_smoothing = 0.3;
  double box_network_weight = 1.0;
  double box_network_refine = 0.0;
  bool box_network_flip = true;
  bool box_calibrate = true;
  bool fold_bn = true;
  bool packed_inference = true;
  Precision precision = Precision::float32;
  double draw_threshold = 0.1;

  template <class V>
  void visit(V& v) {
    v.field("reinit_every", reinit_every, "re-run the initializer every N frames; 0 = never", Check::at_least(0));
    v.field("reinit_confidence", reinit_confidence,
            "re-run the initializer when mean peak confidence falls below this; 0 = never", Check::range(0.0, 1.0));
    v.field("box_rule", box_rule,
            "how the box follows the person without ground-truth boxes (dkd_infer, eval.boxes=tracked): steady (the "
            "confident joints' extent kept in the first box's relation to it, its size changing slowly, its centre "
            "smoothed), extent (that extent times box_scale, smoothed: the earlier rule) or network (the box "
            "network of the checkpoint, stage box, says where the person's box is in the frame's crop; its size "
            "bounded by box_max_size_change, centre and size smoothed); docs/method.md, \"Tracked boxes\"",
            Check::none());
    v.field("box_smoothing", box_smoothing,
            "exponential smoothing of the tracked box (steady: of its size only; 0 = none)", Check::range(0.0, 0.99));
    v.field("box_scale", box_scale, "keypoint extent enlargement for the next frame's box", Check::range(1.0, 3.0));
    v.field("box_min_confidence", box_min_confidence, "joints with a heatmap peak below this do not place the box",
            Check::range(0.0, 1.0));
    v.field("box_max_size_change", box_max_size_change,
            "steady: the box's side changes by at most this fraction per frame", Check::range(0.001, 1.0));
    v.field("box_calibrate", box_calibrate,
            "steady: the first frame's box over its joints' extent sets the margin and centre of every later box "
            "(else infer.box_scale, centred); network: the first frame's box against the box network's first "
            "answer sets the shift and size ratio applied to its later answers (within 1/4 of the box, 1/1.5-1.5x)",
            Check::none());
    v.field("box_center_smoothing", box_center_smoothing,
            "steady: exponential smoothing of the box centre (0 = none; lower it for people who cross the frame)",
            Check::range(0.0, 0.99));
    v.field("box_network_smoothing", box_network_smoothing,
            "network: exponential smoothing of the box network's boxes, centre and size (0 = none)",
            Check::range(0.0, 0.99));
    v.field("box_network_weight", box_network_weight,
            "network: the box network's share of each box, the rest from the confident joints' extent as steady "
            "measures it (1 = the network alone)",
            Check::range(0.0, 1.0));
    v.field("box_network_refine", box_network_refine,
            "network: before the pose network runs, the box network also reads the frame's crop from the previous "
            "box, and the frame is cropped again with this share of its answer (0 = off: one box-network pass, on "
            "the pose network's crop, places the next frame's box)",
            Check::range(0.0, 1.0));
    v.field("box_network_flip", box_network_flip,
            "network: the box network also reads the mirrored crop and the two answers are averaged (twice its "
            "multiply-adds)",
            Check::none());
    v.field("box_velocity", box_velocity,
            "steady: share of the person's recent per-frame motion the box moves ahead by", Check::range(0.0, 2.0));
    v.field("fold_bn", fold_bn, "fold batch norm into convolutions at load time", Check::none());
    v.field("packed_inference", packed_inference,
            "CPU (dkd_infer, dkd_eval): run the ResNet backbones on oneDNN tensors with weights packed once and "
            "batch norms folded in; the same outputs to float rounding",
            Check::none());
    v.field("precision", precision,
            "arithmetic of the packed backbones: float32, or bfloat16 (about 2x faster on CPUs with AVX512-BF16 or "
            "AMX; heatmaps differ by bfloat16 rounding, docs/results.md measures the PCK change); needs "
            "packed_inference and runtime.device cpu",
            Check::none());
    v.field("draw_threshold", draw_threshold, "overlay: hide joints below this confidence", Check::range(0.0, 1.0));
  }
};

/// Upper bound of dist.timeout_s (one day).
constexpr double kMaxDistTimeoutS = 86400.0;

struct DistConfig {
  DistBackend backend = DistBackend::automatic;
  double timeout_s = 300.0;
  double bucket_mb = 25.0;
  double stop_grace_s = 600.0;

  template <class V>
  void visit(V& v) {
    v.field("backend", backend, "auto (nccl on CUDA, else gloo), gloo or nccl", Check::none());
    v.field("timeout_s", timeout_s, "a rank that does not answer within this ends the job", Check::positive());
    v.field("bucket_mb", bucket_mb, "gradient all-reduce bucket size", Check::positive());
    v.field("stop_grace_s", stop_grace_s,
            "dkd_train --nproc: after Ctrl-C/SIGTERM, seconds the ranks get to save a checkpoint before SIGKILL",
            Check::range(1.0, kMaxDistTimeoutS));
  }
};

struct Config {
  RuntimeConfig runtime;
  DataConfig data;
  ModelConfig model;
  TrainConfig train;
  EvalConfig eval;
  InferConfig infer;
  DistConfig dist;
  /// The file the config was loaded from ("" when built in code). Not a key.
  std::string source_path;

  template <class V>
  void visit(V& v) {
    v.section("runtime", runtime, "threads, device, seed");
    v.section("data", data, "data set, input size, augmentation, loader");
    v.section("model", model, "network architecture");
    v.section("train", train, "training stages, optimizer, schedule");
    v.section("eval", eval, "evaluation");
    v.section("infer", infer, "streaming inference");
    v.section("dist", dist, "distributed data-parallel training");
  }
};

/// Every valid key path ("train.lr", "model.encoder.depth", ...).
std::vector<std::string> config_keys();

/// The valid key closest to `key`, or "" when nothing is close.
std::string suggest_key(const std::string& key);

/// Markdown table of every key with its default and help (README's config reference).
std::string config_reference_markdown();

/// The schedule of a stage (train.initializer, train.baseline or train.dkd).
const StageConfig& stage_config(const TrainConfig& train, StageKind stage);

/// True when train.stages runs `stage`.
bool runs_stage(const TrainConfig& train, StageKind stage);

/// True when train.stages runs both and `a` before `b`.
bool stage_before(const TrainConfig& train, StageKind a, StageKind b);

/// Rules between fields (stride_min <= stride_max, num_joints matches the
/// data set, ...); ConfigError naming the keys. The loader runs it.
void validate_config(const Config& config);

/// Shortest decimal text that parses back to the same double (".nan", ".inf").
std::string yaml_number_text(double v);
/// The allowed values of a check as text ("one of a, b", "an integer in [1, 3]").
std::string describe_check(const Check& check, const char* type);

}  // namespace dkd
