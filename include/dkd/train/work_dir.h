#pragma once
// The work dir of a run (detectron2 / mmengine layout):
//   config.yaml       resolved config
//   log.txt           text log (console messages too)
//   metrics.jsonl     one JSON object per logging interval and per validation
//   checkpoints/      epoch_N.pt (and step_N.pt with train.checkpoint_every)
//   last_checkpoint   text file naming the newest checkpoint
//   best.pt           the checkpoint with the best validation PCK
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dkd/config/config.h"

namespace dkd {

class WorkDir {
 public:
  explicit WorkDir(std::string root);

  /// Creates the folders (Error naming the path when not writable), writes
  /// config.yaml and starts logging to log.txt. `write` = false on ranks > 0.
  void prepare(const Config& config, bool write = true);

  const std::string& root() const { return root_; }
  std::string path(const std::string& name) const;
  std::string checkpoint_path(const std::string& file_name) const;
  std::string best_path() const { return path("best.pt"); }

  /// Path named by last_checkpoint, or "" when there is none.
  std::string last_checkpoint() const;
  /// Points last_checkpoint at `checkpoint` (atomically and durably).
  void set_last_checkpoint(const std::string& checkpoint) const;

  /// True when the folder holds a run: last_checkpoint, best.pt or a checkpoint
  /// under checkpoints/ (a run stopped before its first checkpoint holds nothing to keep).
  bool holds_run() const;
  /// Renames the folder to "<root>.old-<YYYYmmdd-HHMMSS>" (with "-N" when taken)
  /// and returns the new path (dkd_train --force).
  std::string move_aside() const;
  /// Removes temporaries left by killed writers ("*.tmp.<pid>"); returns their paths.
  std::vector<std::string> clean_temporaries() const;
  /// Every checkpoint under checkpoints/, newest (modification time) first.
  std::vector<std::string> checkpoints_newest_first() const;
  /// The checkpoint a --resume continues from: the one last_checkpoint names
  /// when it reads completely, else the newest one under checkpoints/ that does.
  /// `note` (when given) says which were passed over and why ("" when none).
  /// UsageError when there is none.
  std::string pick_resume_checkpoint(std::string* note = nullptr) const;

 private:
  std::string root_;
};

/// Keys whose values differ between two configs, as "key: a -> b" (a from
/// `stored`), in key order.
std::vector<std::string> config_differences(const Config& stored, const Config& given);

/// Appends JSON lines to metrics.jsonl, flushing each line so nothing is lost
/// on interruption.
class MetricsWriter {
 public:
  MetricsWriter() = default;
  /// Opens `path` for appending. When `keep_up_to_step` >= 0 (a resume), lines
  /// whose "step" is larger are dropped first, so the file continues exactly
  /// from the checkpoint without duplicates.
  void open(const std::string& path, int64_t keep_up_to_step = -1);
  void write(const nlohmann::json& record);
  bool is_open() const { return out_.is_open(); }

 private:
  std::ofstream out_;
};

}  // namespace dkd
