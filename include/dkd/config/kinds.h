#pragma once
// The named variants of a run as enums, parsed once where the config is read
// (config.cpp's visitors read and write them by name) instead of strings
// compared in many files. Each enum has one descriptor table, EnumNames<E>,
// with its values in order and their config names; name_of, parse_kind and
// kind_names are generic over it. A new variant is one enum value plus one
// table row.
#include <array>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "dkd/util/error.h"

namespace dkd {

/// A training stage (train.stages).
enum class StageKind { initializer, baseline, dkd, box };

/// Which network of a checkpoint a command evaluates (dkd_eval --model).
enum class ModelKind { dkd, initializer, baseline };

/// How pose kernels are matched against the frame's features
/// (model.distillator.matching).
enum class MatchingKind { per_joint, depthwise };

/// How the tracker's box follows the person when no ground-truth box is given
/// (infer.box_rule; data/box_tracker.h).
enum class BoxRuleKind { extent, steady, network };

/// What a per-frame network is (model.initializer.network): this project's ResNet
/// with its deconvolution head, or the imported pretrained BlazePose (models/blazepose.h).
enum class NetworkKind { resnet, blazepose_lite, blazepose_full, blazepose_heavy };

/// Where a BlazePose initializer's per-joint heatmaps come from
/// (model.initializer.landmark_heatmaps): Gaussians rendered at its regressed
/// landmarks, or its own 64x64 heatmap outputs.
enum class LandmarkHeatmapKind { rendered, network };

/// runtime.log_level.
enum class LogLevel { trace, debug, info, warn, error };

/// model.<network>.deconv_impl: ConvTranspose2d or sub-pixel convolutions.
enum class DeconvImpl { transposed, subpixel };

/// model.distillator.prior.
enum class PriorKind { none, warped };

/// model.distillator.prior_fusion.
enum class PriorFusion { conv3x3, pointwise, grouped };

/// model.distillator.kernels: how pose kernels are built from the previous frame.
enum class KernelSource { pooled, joint_centred };

/// model.distillator.norm.
enum class NormKind { batch, group, none };

/// train.<stage>.precision, infer.precision.
enum class Precision { float32, bfloat16 };

/// train.optimizer.
enum class OptimizerKind { adam, sgd, rmsprop };

/// train.schedule.
enum class ScheduleKind { constant, multistep, cosine };

/// A subset of a data set (eval.split; load_split): its training list without the
/// validation videos, the validation videos, the test list, or every video.
enum class SplitKind { train, val, test, all };

/// The split dkd_eval scores (eval.split): one of the subsets, never all of them.
enum class EvalSplit { train, val, test };

/// eval.decode: how heatmaps become coordinates (data/heatmap.h).
enum class HeatmapDecoder { argmax, dark };

/// eval.boxes: where each frame's crop box comes from.
enum class BoxSource { ground_truth, tracked };

/// dist.backend.
enum class DistBackend { automatic, gloo, nccl };

template <class E>
struct EnumNames;  // static constexpr std::array<std::pair<E, const char*>, N> values; const char* what

template <>
struct EnumNames<StageKind> {
  static constexpr const char* what = "stage";
  static constexpr std::array<std::pair<StageKind, const char*>, 4> values{{{StageKind::initializer, "initializer"},
                                                                            {StageKind::baseline, "baseline"},
                                                                            {StageKind::dkd, "dkd"},
                                                                            {StageKind::box, "box"}}};
  /// Earlier names of the two per-frame networks, still read with a deprecation note.
  static constexpr std::array<std::pair<StageKind, const char*>, 4> aliases{
      {{StageKind::initializer, "per_frame_large"},
       {StageKind::initializer, "large"},
       {StageKind::baseline, "per_frame_small"},
       {StageKind::baseline, "small"}}};
};
template <>
struct EnumNames<ModelKind> {
  static constexpr const char* what = "model";
  static constexpr std::array<std::pair<ModelKind, const char*>, 3> values{
      {{ModelKind::dkd, "dkd"}, {ModelKind::initializer, "initializer"}, {ModelKind::baseline, "baseline"}}};
  /// Earlier names of the two per-frame networks, still read with a deprecation note.
  static constexpr std::array<std::pair<ModelKind, const char*>, 4> aliases{
      {{ModelKind::initializer, "per_frame_large"},
       {ModelKind::initializer, "large"},
       {ModelKind::baseline, "per_frame_small"},
       {ModelKind::baseline, "small"}}};
};
template <>
struct EnumNames<MatchingKind> {
  static constexpr const char* what = "matching";
  static constexpr std::array<std::pair<MatchingKind, const char*>, 2> values{
      {{MatchingKind::per_joint, "per_joint"}, {MatchingKind::depthwise, "depthwise"}}};
};

template <>
struct EnumNames<BoxRuleKind> {
  static constexpr const char* what = "box rule";
  static constexpr std::array<std::pair<BoxRuleKind, const char*>, 3> values{
      {{BoxRuleKind::extent, "extent"}, {BoxRuleKind::steady, "steady"}, {BoxRuleKind::network, "network"}}};
};

template <>
struct EnumNames<NetworkKind> {
  static constexpr const char* what = "network";
  static constexpr std::array<std::pair<NetworkKind, const char*>, 4> values{
      {{NetworkKind::resnet, "resnet"},
       {NetworkKind::blazepose_lite, "blazepose_lite"},
       {NetworkKind::blazepose_full, "blazepose_full"},
       {NetworkKind::blazepose_heavy, "blazepose_heavy"}}};
};

template <>
struct EnumNames<LandmarkHeatmapKind> {
  static constexpr const char* what = "landmark heatmaps";
  static constexpr std::array<std::pair<LandmarkHeatmapKind, const char*>, 2> values{
      {{LandmarkHeatmapKind::rendered, "rendered"}, {LandmarkHeatmapKind::network, "network"}}};
};

template <>
struct EnumNames<LogLevel> {
  static constexpr const char* what = "log level";
  static constexpr std::array<std::pair<LogLevel, const char*>, 5> values{{{LogLevel::trace, "trace"},
                                                                           {LogLevel::debug, "debug"},
                                                                           {LogLevel::info, "info"},
                                                                           {LogLevel::warn, "warn"},
                                                                           {LogLevel::error, "error"}}};
};

template <>
struct EnumNames<DeconvImpl> {
  static constexpr const char* what = "deconvolution";
  static constexpr std::array<std::pair<DeconvImpl, const char*>, 2> values{
      {{DeconvImpl::transposed, "transposed"}, {DeconvImpl::subpixel, "subpixel"}}};
};

template <>
struct EnumNames<PriorKind> {
  static constexpr const char* what = "location prior";
  static constexpr std::array<std::pair<PriorKind, const char*>, 2> values{
      {{PriorKind::none, "none"}, {PriorKind::warped, "warped"}}};
};

template <>
struct EnumNames<PriorFusion> {
  static constexpr const char* what = "prior fusion";
  static constexpr std::array<std::pair<PriorFusion, const char*>, 3> values{
      {{PriorFusion::conv3x3, "conv3x3"}, {PriorFusion::pointwise, "pointwise"}, {PriorFusion::grouped, "grouped"}}};
};

template <>
struct EnumNames<KernelSource> {
  static constexpr const char* what = "kernels";
  static constexpr std::array<std::pair<KernelSource, const char*>, 2> values{
      {{KernelSource::pooled, "pooled"}, {KernelSource::joint_centred, "joint_centred"}}};
};

template <>
struct EnumNames<NormKind> {
  static constexpr const char* what = "normalisation";
  static constexpr std::array<std::pair<NormKind, const char*>, 3> values{
      {{NormKind::batch, "batch"}, {NormKind::group, "group"}, {NormKind::none, "none"}}};
};

template <>
struct EnumNames<Precision> {
  static constexpr const char* what = "precision";
  static constexpr std::array<std::pair<Precision, const char*>, 2> values{
      {{Precision::float32, "float32"}, {Precision::bfloat16, "bfloat16"}}};
};

template <>
struct EnumNames<OptimizerKind> {
  static constexpr const char* what = "optimizer";
  static constexpr std::array<std::pair<OptimizerKind, const char*>, 3> values{
      {{OptimizerKind::adam, "adam"}, {OptimizerKind::sgd, "sgd"}, {OptimizerKind::rmsprop, "rmsprop"}}};
};

template <>
struct EnumNames<ScheduleKind> {
  static constexpr const char* what = "schedule";
  static constexpr std::array<std::pair<ScheduleKind, const char*>, 3> values{
      {{ScheduleKind::constant, "constant"}, {ScheduleKind::multistep, "multistep"}, {ScheduleKind::cosine, "cosine"}}};
};

template <>
struct EnumNames<EvalSplit> {
  static constexpr const char* what = "split";
  static constexpr std::array<std::pair<EvalSplit, const char*>, 3> values{
      {{EvalSplit::train, "train"}, {EvalSplit::val, "val"}, {EvalSplit::test, "test"}}};
};

/// The subset of the data set that eval.split names.
inline SplitKind split_of(EvalSplit split) {
  switch (split) {
    case EvalSplit::train:
      return SplitKind::train;
    case EvalSplit::val:
      return SplitKind::val;
    case EvalSplit::test:
      break;
  }
  return SplitKind::test;
}

template <>
struct EnumNames<SplitKind> {
  static constexpr const char* what = "split";
  static constexpr std::array<std::pair<SplitKind, const char*>, 4> values{
      {{SplitKind::train, "train"}, {SplitKind::val, "val"}, {SplitKind::test, "test"}, {SplitKind::all, "all"}}};
};

template <>
struct EnumNames<HeatmapDecoder> {
  static constexpr const char* what = "decoder";
  static constexpr std::array<std::pair<HeatmapDecoder, const char*>, 2> values{
      {{HeatmapDecoder::argmax, "argmax"}, {HeatmapDecoder::dark, "dark"}}};
};

template <>
struct EnumNames<BoxSource> {
  static constexpr const char* what = "boxes";
  static constexpr std::array<std::pair<BoxSource, const char*>, 2> values{
      {{BoxSource::ground_truth, "ground_truth"}, {BoxSource::tracked, "tracked"}}};
};

template <>
struct EnumNames<DistBackend> {
  static constexpr const char* what = "backend";
  static constexpr std::array<std::pair<DistBackend, const char*>, 3> values{
      {{DistBackend::automatic, "auto"}, {DistBackend::gloo, "gloo"}, {DistBackend::nccl, "nccl"}}};
};

/// True for the enums that have a descriptor table (the config visitors read
/// and write those by name).
template <class E, class = void>
struct is_named_enum : std::false_type {};
template <class E>
struct is_named_enum<E, std::void_t<decltype(EnumNames<E>::values)>> : std::true_type {};

/// The config name of a value ("penn", "dkd", ...).
template <class E>
const char* name_of(E value) {
  for (const auto& [v, name] : EnumNames<E>::values)
    if (v == value) return name;
  return "?";
}

/// Every name of the enum, in table order.
template <class E>
std::vector<std::string> kind_names() {
  std::vector<std::string> out;
  for (const auto& entry : EnumNames<E>::values) out.emplace_back(entry.second);
  return out;
}

/// "a, b or c" for messages.
template <class E>
std::string kind_names_text() {
  const auto names = kind_names<E>();
  std::string s;
  for (std::size_t i = 0; i < names.size(); ++i) s += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return s;
}

/// True for the enums whose table also lists earlier names (aliases).
template <class E, class = void>
struct has_kind_aliases : std::false_type {};
template <class E>
struct has_kind_aliases<E, std::void_t<decltype(EnumNames<E>::aliases)>> : std::true_type {};

/// Logs (warn) that `key` used the earlier name `old_name` of `name` (config.cpp).
void note_deprecated_name(const std::string& key, const std::string& old_name, const std::string& name);

/// The value named `name`; an earlier name (EnumNames<E>::aliases) is read too,
/// with a deprecation note; a ConfigError naming `key` (the config key or
/// option the name came from) when there is none.
template <class E>
E parse_kind(const std::string& name, const std::string& key) {
  for (const auto& [v, n] : EnumNames<E>::values)
    if (name == n) return v;
  if constexpr (has_kind_aliases<E>::value) {
    for (const auto& [v, n] : EnumNames<E>::aliases)
      if (name == n) {
        note_deprecated_name(key, name, name_of(v));
        return v;
      }
  }
  throw ConfigError(key + ": expected " + kind_names_text<E>() + ", got '" + name + "'");
}

/// The pose model a stage trains (and validates). The box stage trains no pose
/// model; its network serves all of them (models/box_net.h): nullopt.
inline std::optional<ModelKind> pose_model_of(StageKind stage) {
  switch (stage) {
    case StageKind::initializer:
      return ModelKind::initializer;
    case StageKind::baseline:
      return ModelKind::baseline;
    case StageKind::dkd:
      return ModelKind::dkd;
    case StageKind::box:
      break;
  }
  return std::nullopt;
}

}  // namespace dkd
