#pragma once
// The work dir of a run (detectron2 / mmengine layout):
//   config.yaml       resolved config
//   log.txt           text log (console messages too)
//   metrics.jsonl     one JSON object per logging interval and per validation
//   checkpoints/      epoch_N.pt (and step_N.pt with train.checkpoint_every)
//   last_checkpoint   text file naming the newest checkpoint
//   best.pt           the checkpoint with the best validation PCK
//   train.lock        flock of the dkd_train writing it (one run at a time)
#include <cstdint>
#include <memory>
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

/// The lock file in a work dir (an flock held by the dkd_train that writes it).
inline constexpr const char* kWorkDirLockFile = "train.lock";
/// Names the descriptor of the lock that dkd_train --nproc hands to its ranks.
inline constexpr const char* kWorkDirLockEnv = "DKD_WORK_DIR_LOCK_FD";

/// Makes this process the one writer of the work dir `root` (created when
/// missing): an flock on root/train.lock, held until the process ends or
/// unlock_work_dir; the kernel releases it when the process dies, so a killed
/// run never leaves a stale lock. Returns at once when this process holds it
/// already. A rank started by dkd_train --nproc shares its launcher's lock (the
/// descriptor named by DKD_WORK_DIR_LOCK_FD). UsageError naming the holder's pid
/// when another process holds it.
void lock_work_dir(const std::string& root);
/// Gives up this process's lock on `root` (after --force moved that folder aside).
void unlock_work_dir(const std::string& root);
/// Lets the processes this one starts (dkd_train --nproc's ranks) share its lock
/// on `root`: the descriptor stays open across exec and DKD_WORK_DIR_LOCK_FD names it.
void share_work_dir_lock(const std::string& root);

/// Keys whose values differ between two configs, as "key: a -> b" (a from
/// `stored`), in key order.
std::vector<std::string> config_differences(const Config& stored, const Config& given);

/// Appends JSON lines to metrics.jsonl, each written at once so nothing is lost
/// on interruption. A line that does not fit (a full disk) is cut off again, so
/// the file keeps whole lines, and the Error names the file and the free space.
class FileWriter;

class MetricsWriter {
 public:
  MetricsWriter();
  ~MetricsWriter();
  /// Opens `path` for appending. When `keep_up_to_step` >= 0 (a resume), lines
  /// whose "step" is larger are dropped first, so the file continues exactly
  /// from the checkpoint without duplicates.
  void open(const std::string& path, int64_t keep_up_to_step = -1);
  void write(const nlohmann::json& record);
  bool is_open() const { return out_ != nullptr; }

 private:
  std::unique_ptr<FileWriter> out_;
};

}  // namespace dkd
