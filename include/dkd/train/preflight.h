#pragma once
// Start-up checks of a training run: everything a run will need later (the
// initializer and baseline checkpoints of a dkd stage, pretrained backbones) is
// checked before the first step, not when a stage starts hours in.
#include <string>
#include <vector>

#include <optional>
#include <vector>

#include "dkd/config/config.h"

namespace dkd {

/// Stages of train.stages still to run after `completed` (in order).
std::vector<StageKind> pending_stages(const TrainConfig& train, const std::vector<StageKind>& completed);

/// Throws ConfigError naming the key when the stages cannot work (stage dkd
/// with neither an earlier initializer stage nor train.initializer_checkpoint,
/// train.encoder_from_baseline without a baseline source) and when a file the
/// run will read does not exist or cannot be opened; Error naming the file when
/// a checkpoint cannot be read or lacks the model it is taken for.
/// `completed`: stages already done (a resume); `resuming_stage`: the stage a
/// resume continues (none for none) -- its inputs come from the checkpoint.
void check_training_inputs(const Config& config, const std::vector<StageKind>& completed = {},
                           std::optional<StageKind> resuming_stage = std::nullopt);

}  // namespace dkd
