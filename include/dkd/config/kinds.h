#pragma once
// The named variants of a run as enums, parsed once where the config is read
// (config.cpp's visitors read and write them by name) instead of strings
// compared in many files. Each enum has one descriptor table, EnumNames<E>,
// with its values in order and their config names; name_of, parse_kind and
// kind_names are generic over it. A new variant is one enum value plus one
// table row.
#include <array>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "dkd/util/error.h"

namespace dkd {

/// On-disk format of a data set (data.dataset): the joint set, the visibility
/// rule of PCK and the reader.
enum class DatasetKind { penn, jhmdb };

/// A training stage (train.stages).
enum class StageKind { initializer, baseline, dkd };

/// Which network of a checkpoint a command evaluates (dkd_eval --model).
enum class ModelKind { dkd, initializer, baseline };

/// How pose kernels are matched against the frame's features
/// (model.distillator.matching).
enum class MatchingKind { per_joint, depthwise };

/// How the tracker's box follows the person when no ground-truth box is given
/// (infer.box_rule; data/box_tracker.h).
enum class BoxRuleKind { extent, steady };

/// What a per-frame network is (model.initializer.network): this project's ResNet
/// with its deconvolution head, or the imported pretrained BlazePose (models/blazepose.h).
enum class NetworkKind { resnet, blazepose_lite, blazepose_full, blazepose_heavy };

/// Where a BlazePose initializer's per-joint heatmaps come from
/// (model.initializer.landmark_heatmaps): Gaussians rendered at its regressed
/// landmarks, or its own 64x64 heatmap outputs.
enum class LandmarkHeatmapKind { rendered, network };

template <class E>
struct EnumNames;  // static constexpr std::array<std::pair<E, const char*>, N> values; const char* what

template <>
struct EnumNames<DatasetKind> {
  static constexpr const char* what = "data set";
  static constexpr std::array<std::pair<DatasetKind, const char*>, 2> values{
      {{DatasetKind::penn, "penn"}, {DatasetKind::jhmdb, "jhmdb"}}};
};
template <>
struct EnumNames<StageKind> {
  static constexpr const char* what = "stage";
  static constexpr std::array<std::pair<StageKind, const char*>, 3> values{
      {{StageKind::initializer, "initializer"}, {StageKind::baseline, "baseline"}, {StageKind::dkd, "dkd"}}};
};
template <>
struct EnumNames<ModelKind> {
  static constexpr const char* what = "model";
  static constexpr std::array<std::pair<ModelKind, const char*>, 3> values{
      {{ModelKind::dkd, "dkd"}, {ModelKind::initializer, "initializer"}, {ModelKind::baseline, "baseline"}}};
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
  static constexpr std::array<std::pair<BoxRuleKind, const char*>, 2> values{
      {{BoxRuleKind::extent, "extent"}, {BoxRuleKind::steady, "steady"}}};
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

/// The value named `name`; a ConfigError naming `key` (the config key or
/// option the name came from) when there is none.
template <class E>
E parse_kind(const std::string& name, const std::string& key) {
  for (const auto& [v, n] : EnumNames<E>::values)
    if (name == n) return v;
  throw ConfigError(key + ": expected " + kind_names_text<E>() + ", got '" + name + "'");
}

/// The model a stage trains (and validates).
inline ModelKind model_of(StageKind stage) {
  switch (stage) {
    case StageKind::initializer:
      return ModelKind::initializer;
    case StageKind::baseline:
      return ModelKind::baseline;
    case StageKind::dkd:
      break;
  }
  return ModelKind::dkd;
}

}  // namespace dkd
