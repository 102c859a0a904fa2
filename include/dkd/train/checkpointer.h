#pragma once
// The trainer's checkpoint collaborator: writes checkpoints (rank 0, between
// barriers), keeps last_checkpoint pointing at the newest, and tracks which
// checkpoint is known good. A checkpoint is "pending" until the next step's
// loss, computed with its weights, comes out finite; a NaN condemns it
// (renamed to *.nan) and last_checkpoint goes back to the last good one.
#include <functional>
#include <string>

namespace dkd {

class DistContext;
class WorkDir;

class Checkpointer {
 public:
  Checkpointer(WorkDir& work_dir, DistContext& dist, bool is_main);

  /// A resume starts from `path`: good, newest, and last_checkpoint points at it.
  void resume_from(const std::string& path);
  /// Writes checkpoints/<folder>/<file_name> with `save(path)` on rank 0,
  /// points last_checkpoint at it and returns its path (on every rank).
  std::string write(const std::string& folder, const std::string& file_name,
                    const std::function<void(const std::string&)>& save);
  /// The step after the pending checkpoint had a finite loss: it is good.
  void confirm_pending();
  /// The step after the pending checkpoint had a non-finite loss: renames it
  /// to *.nan and points last_checkpoint back at the last good one. Returns
  /// the condemned path ("" when none was pending).
  std::string condemn_pending();

  const std::string& last_good() const { return last_good_; }
  const std::string& latest() const { return latest_; }

 private:
  WorkDir& work_dir_;
  DistContext& dist_;
  bool is_main_;
  std::string last_good_;  ///< newest checkpoint whose weights gave a finite loss
  std::string pending_;    ///< newest checkpoint, until a finite step confirms it
  std::string latest_;     ///< newest checkpoint written
};

}  // namespace dkd
