#include "dkd/train/preflight.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "dkd/models/checkpoint.h"
#include "dkd/util/error.h"

namespace fs = std::filesystem;

namespace dkd {

namespace {

template <class T>
bool contains(const std::vector<T>& v, const T& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void require_readable_file(const std::string& key, const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw ConfigError(key + ": " + path + " does not exist");
  if (!fs::is_regular_file(path, ec)) throw ConfigError(key + ": " + path + " is not a file");
  std::ifstream in(path, std::ios::binary);
  char byte;
  if (!in || !in.read(&byte, 1)) throw ConfigError(key + ": " + path + " cannot be read (permissions, or empty)");
}

void require_model_in_checkpoint(const std::string& key, const std::string& path, const std::string& model) {
  require_readable_file(key, path);
  const auto models = checkpoint_models(path);  // Error naming the file when unreadable
  if (!contains(models, model)) {
    std::string held;
    for (const auto& m : models) held += (held.empty() ? "" : ", ") + m;
    throw Error(path + " (" + key + "): the checkpoint holds no '" + model +
                "' model (it holds: " + (held.empty() ? "none" : held) + ")");
  }
}

}  // namespace

std::vector<StageKind> pending_stages(const TrainConfig& train, const std::vector<StageKind>& completed) {
  std::vector<StageKind> out;
  for (const auto& s : train.stages)
    if (!contains(completed, s)) out.push_back(s);
  return out;
}

void check_training_inputs(const Config& config, const std::vector<StageKind>& completed,
                           std::optional<StageKind> resuming_stage) {
  const TrainConfig& tr = config.train;
  const bool has_dkd = runs_stage(tr, StageKind::dkd);
  const bool baseline_before_dkd = stage_before(tr, StageKind::baseline, StageKind::dkd);
  const bool initializer_before_dkd = stage_before(tr, StageKind::initializer, StageKind::dkd);
  if (has_dkd && tr.encoder_from_baseline && !baseline_before_dkd && tr.baseline_checkpoint.empty())
    throw ConfigError(
        "train.baseline_checkpoint: train.encoder_from_baseline needs stage baseline before dkd in "
        "train.stages, or train.baseline_checkpoint");
  // An imported initializer (BlazePose) comes with its weights.
  const bool pretrained_initializer = config.model.initializer.network != NetworkKind::resnet;
  if (has_dkd && !initializer_before_dkd && tr.initializer_checkpoint.empty() && !pretrained_initializer)
    throw ConfigError(
        "train.initializer_checkpoint: stage dkd needs a trained initializer; put stage initializer "
        "before dkd in train.stages or set train.initializer_checkpoint (train.stages is [" +
        [&] {
          std::string s;
          for (const StageKind st : tr.stages) s += (s.empty() ? "" : ", ") + std::string(name_of(st));
          return s;
        }() +
        "])");

  // The dkd stage reads its inputs when it starts, unless a resume continues it.
  const auto pending = pending_stages(tr, completed);
  const bool dkd_starts_later = contains(pending, StageKind::dkd) && resuming_stage != StageKind::dkd;
  if (dkd_starts_later && !initializer_before_dkd && !(pretrained_initializer && tr.initializer_checkpoint.empty()))
    require_model_in_checkpoint("train.initializer_checkpoint", tr.initializer_checkpoint, "initializer");
  if (dkd_starts_later && tr.encoder_from_baseline && !baseline_before_dkd)
    require_model_in_checkpoint("train.baseline_checkpoint", tr.baseline_checkpoint, "baseline");
  // The box stage's second data set is scanned when that stage starts: a wrong path fails now.
  if (contains(pending, StageKind::box) && !tr.box_data.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(tr.box_data, ec))
      throw ConfigError("train.box_data: " + tr.box_data + " is not a folder (a data set root like data.root)");
  }
  // Pretrained backbones are loaded whenever the models are built.
  if (!config.model.initializer.pretrained.empty())
    require_readable_file("model.initializer.pretrained", config.model.initializer.pretrained);
  if (!config.model.encoder.pretrained.empty())
    require_readable_file("model.encoder.pretrained", config.model.encoder.pretrained);
}

}  // namespace dkd
