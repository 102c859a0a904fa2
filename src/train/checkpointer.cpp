#include "dkd/train/checkpointer.h"

#include <filesystem>
#include <system_error>

#include "dkd/dist/process_group.h"
#include "dkd/train/work_dir.h"
#include "dkd/util/runtime.h"

namespace fs = std::filesystem;

namespace dkd {

Checkpointer::Checkpointer(WorkDir& work_dir, DistContext& dist, bool is_main)
    : work_dir_(work_dir), dist_(dist), is_main_(is_main) {}

void Checkpointer::resume_from(const std::string& path) {
  last_good_ = path;
  latest_ = path;
  if (is_main_ && fs::path(work_dir_.last_checkpoint()) != fs::path(path)) work_dir_.set_last_checkpoint(path);
}

std::string Checkpointer::write(const std::string& folder, const std::string& file_name,
                                const std::function<void(const std::string&)>& save) {
  const std::string dir = work_dir_.checkpoint_path(folder);
  const std::string path = (fs::path(dir) / file_name).string();
  dist_.barrier();
  if (is_main_) {
    ensure_writable_dir(dir);
    save(path);
    work_dir_.set_last_checkpoint(path);
  }
  dist_.barrier();
  pending_ = path;
  latest_ = path;
  return path;
}

void Checkpointer::confirm_pending() {
  if (pending_.empty()) return;
  last_good_ = pending_;
  pending_.clear();
}

std::string Checkpointer::condemn_pending() {
  const std::string condemned = pending_;
  if (condemned.empty() || !is_main_) return condemned;
  // --resume must not continue from those weights, nor fall back to them.
  std::error_code ec;
  fs::rename(condemned, condemned + ".nan", ec);
  if (last_good_.empty()) {
    fs::remove(work_dir_.path("last_checkpoint"), ec);
  } else {
    work_dir_.set_last_checkpoint(last_good_);
  }
  return condemned;
}

}  // namespace dkd
