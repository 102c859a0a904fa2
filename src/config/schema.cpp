#include "dkd/config/schema.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <utility>

#include "dkd/config/dataset_spec.h"
#include "dkd/util/error.h"

namespace dkd {

// ---------------------------------------------------------------- text of values and checks

/// Shortest decimal text that parses back to the same double.
std::string yaml_number_text(double v) {
  if (std::isnan(v)) return ".nan";
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  for (int precision = 6; precision <= 17; ++precision) {
    std::ostringstream s;
    s.precision(precision);
    s << v;
    if (std::strtod(s.str().c_str(), nullptr) == v) {
      std::string text = s.str();
      // Keep a visible decimal point so the YAML reads as a number with a fraction.
      if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
      return text;
    }
  }
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

namespace {

/// Integral values without a fraction (for messages: "one of 18, 34, 50").
std::string format_number(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  return yaml_number_text(v);
}

std::string to_text(bool v) { return v ? "true" : "false"; }
std::string to_text(int v) { return std::to_string(v); }
std::string to_text(int64_t v) { return std::to_string(v); }
std::string to_text(double v) { return yaml_number_text(v); }
std::string to_text(const std::string& v) { return v.empty() ? "\"\"" : v; }
template <class E, class = std::enable_if_t<is_named_enum<E>::value>>
std::string to_text(E v) {
  return name_of(v);
}
template <class T>
std::string to_text(const std::vector<T>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + to_text(v[i]);
  return s + "]";
}
template <class T>
std::string to_text(const std::optional<T>& v) {
  return v ? to_text(*v) : std::string("~ (unset)");
}

}  // namespace

std::string describe_check(const Check& c, const char* type) {
  std::string s = type;
  if (!c.choices.empty()) {
    s = "one of";
    for (std::size_t i = 0; i < c.choices.size(); ++i) s += (i ? ", " : " ") + c.choices[i];
    return s;
  }
  if (!c.allowed.empty()) {
    s = "one of";
    for (std::size_t i = 0; i < c.allowed.size(); ++i) s += (i ? ", " : " ") + format_number(c.allowed[i]);
    return s;
  }
  if (c.min && c.max) {
    s += " in [" + format_number(*c.min) + ", " + format_number(*c.max) + "]";
  } else if (c.min) {
    s += (c.min_exclusive ? " > " : " >= ") + format_number(*c.min);
  } else if (c.max) {
    s += " <= " + format_number(*c.max);
  }
  return s;
}

// ---------------------------------------------------------------- cross-field rules

void validate_config(const Config& c) {
  if (c.data.stride_min > c.data.stride_max)
    throw ConfigError("data.stride_min (" + std::to_string(c.data.stride_min) + ") is larger than data.stride_max (" +
                      std::to_string(c.data.stride_max) + ")");
  for (int s : c.data.input_size)
    if (s % 32 != 0) throw ConfigError("data.input_size: expected multiples of 32, got " + std::to_string(s));
  const DatasetSpec& dataset = dataset_spec(c.data.dataset);
  const int expected = dataset.skeleton.num_joints();
  if (dataset.num_splits > 0 && c.data.split > dataset.num_splits)
    throw ConfigError("data.split: " + dataset.title + " has splits 1 to " + std::to_string(dataset.num_splits) +
                      ", got " + std::to_string(c.data.split));
  if (c.model.num_joints != expected)
    throw ConfigError("model.num_joints (" + std::to_string(c.model.num_joints) + ") does not match data.dataset " +
                      c.data.dataset + " (" + std::to_string(expected) + " joints)");
  if (c.model.encoder.network != NetworkKind::resnet)
    throw ConfigError(std::string("model.encoder.network: the frame encoder must be resnet (its features feed the "
                                  "kernel matching), got ") +
                      name_of(c.model.encoder.network));
  if (c.model.initializer.network != NetworkKind::resnet && !c.model.initializer.pretrained.empty())
    throw ConfigError(std::string("model.initializer.pretrained: ") + name_of(c.model.initializer.network) +
                      " brings its own weights (tools/fetch_models.sh); leave pretrained empty");
  if (c.train.initializer_targets > 0 && !c.train.freeze_initializer)
    throw ConfigError(
        "train.initializer_targets: distilling from the initializer needs train.freeze_initializer: true (a teacher "
        "that trains alongside its student would chase it)");
  if (const auto& d = c.model.distillator; d.prior == PriorKind::warped && d.prior_fusion == PriorFusion::grouped) {
    if (d.prior_channels % c.model.num_joints != 0)
      throw ConfigError(
          "model.distillator.prior_channels: prior_fusion grouped needs a multiple of model.num_joints (" +
          std::to_string(c.model.num_joints) + "), got " + std::to_string(d.prior_channels));
    if (d.prior_features)
      throw ConfigError(
          "model.distillator.prior_features: prior_fusion grouped fuses each joint's own maps only; it cannot take "
          "the frame's features (use conv3x3 or pointwise)");
  }
  if (c.model.distillator.kernel_size % 2 == 0)
    throw ConfigError("model.distillator.kernel_size: expected an odd number, got " +
                      std::to_string(c.model.distillator.kernel_size));
  if (c.train.stages.empty()) throw ConfigError("train.stages: expected at least one stage");
  // Milliseconds of the timeout must fit c10d's int64 (and a day is already generous).
  if (!(c.dist.timeout_s <= kMaxDistTimeoutS))
    throw ConfigError("dist.timeout_s: expected at most " + std::to_string(static_cast<int>(kMaxDistTimeoutS)) +
                      " (one day), got " + std::to_string(c.dist.timeout_s));
  if (c.runtime.device != "cpu" && c.runtime.device != "cuda" && c.runtime.device.rfind("cuda:", 0) != 0)
    throw ConfigError("runtime.device: expected cpu, cuda or cuda:N, got '" + c.runtime.device + "'");
  if (c.train.dkd.precision != Precision::float32)
    throw ConfigError(std::string("train.dkd.precision: expected float32, got '") + name_of(c.train.dkd.precision) +
                      "' (bfloat16 is for the per-frame stages, train.initializer and train.baseline: the DKD "
                      "stage's operators are too small to gain from it)");
  if (c.infer.precision == Precision::bfloat16 && !c.infer.packed_inference)
    throw ConfigError(
        "infer.precision: bfloat16 runs on the packed oneDNN path; set infer.packed_inference: true "
        "or infer.precision: float32");
  if (c.infer.precision == Precision::bfloat16 && c.runtime.device != "cpu")
    throw ConfigError("infer.precision: bfloat16 is a CPU (oneDNN) option, but runtime.device is '" + c.runtime.device +
                      "'; use infer.precision: float32");
}

namespace {

struct KeyInfo {
  std::string key;
  std::string default_value;
  std::string help;
  bool is_section = false;
};

/// T, or the element type of a list or optional of T.
template <class T>
struct element_of {
  using type = T;
};
template <class T>
struct element_of<std::vector<T>> {
  using type = T;
};
template <class T>
struct element_of<std::optional<T>> {
  using type = T;
};
template <class T>
using element_t = typename element_of<T>::type;

class KeyCollector {
 public:
  explicit KeyCollector(std::vector<KeyInfo>& keys, std::string prefix = "")
      : keys_(keys), prefix_(std::move(prefix)) {}

  template <class T>
  void field(const char* name, T& value, const char* help, const Check& check) {
    std::string text = help;
    if (!check.choices.empty() || !check.allowed.empty()) text += " (" + describe_check(check, "") + ")";
    if constexpr (is_named_enum<element_t<T>>::value) text += " (one of " + kind_names_text<element_t<T>>() + ")";
    keys_.push_back({prefix_ + name, to_text(value), text, false});
  }

  template <class S>
  void section(const char* name, S& sub, const char* help) {
    keys_.push_back({prefix_ + name, "", help, true});
    KeyCollector inner(keys_, prefix_ + name + ".");
    sub.visit(inner);
  }

 private:
  std::vector<KeyInfo>& keys_;
  std::string prefix_;
};

const std::vector<KeyInfo>& all_keys() {
  static const std::vector<KeyInfo> keys = [] {
    std::vector<KeyInfo> k;
    Config defaults;
    KeyCollector collector(k);
    defaults.visit(collector);
    return k;
  }();
  return keys;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

// ---------------------------------------------------------------- keys

std::vector<std::string> config_keys() {
  std::vector<std::string> keys;
  for (const auto& k : all_keys())
    if (!k.is_section) keys.push_back(k.key);
  return keys;
}

std::string suggest_key(const std::string& key) {
  std::string best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  const std::string leaf = key.substr(key.rfind('.') + 1);
  for (const auto& k : all_keys()) {
    std::size_t d = edit_distance(key, k.key);
    // A key put in the wrong section ("data.lr") is close by its last component.
    const std::string k_leaf = k.key.substr(k.key.rfind('.') + 1);
    if (leaf == k_leaf) d = std::min<std::size_t>(d, 2);
    if (d < best_distance) {
      best_distance = d;
      best = k.key;
    }
  }
  const std::size_t limit = std::max<std::size_t>(2, key.size() / 3);
  return best_distance <= limit ? best : "";
}

std::string config_reference_markdown() {
  std::string out = "| key | default | meaning |\n|---|---|---|\n";
  for (const auto& k : all_keys()) {
    if (k.is_section) continue;
    std::string def = k.default_value;
    if (def == "\"\"") def = "\"\"";
    out += "| `" + k.key + "` | `" + def + "` | " + k.help + " |\n";
  }
  return out;
}

const StageConfig& stage_config(const TrainConfig& train, StageKind stage) {
  switch (stage) {
    case StageKind::initializer:
      return train.initializer;
    case StageKind::baseline:
      return train.baseline;
    case StageKind::box:
      return train.box;
    case StageKind::dkd:
      break;
  }
  return train.dkd;
}

bool runs_stage(const TrainConfig& train, StageKind stage) {
  return std::find(train.stages.begin(), train.stages.end(), stage) != train.stages.end();
}

bool stage_before(const TrainConfig& train, StageKind a, StageKind b) {
  const auto ia = std::find(train.stages.begin(), train.stages.end(), a);
  const auto ib = std::find(train.stages.begin(), train.stages.end(), b);
  return ia != train.stages.end() && ib != train.stages.end() && ia < ib;
}

}  // namespace dkd
