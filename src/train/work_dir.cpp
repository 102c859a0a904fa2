#include "dkd/train/work_dir.h"

#include <filesystem>
#include <sstream>
#include <vector>

#include "dkd/util/error.h"
#include "dkd/util/logging.h"
#include "dkd/util/runtime.h"

namespace fs = std::filesystem;

namespace dkd {

WorkDir::WorkDir(std::string root) : root_(std::move(root)) {}

void WorkDir::prepare(const Config& config, bool write) {
  if (!write) return;
  ensure_writable_dir(root_);
  ensure_writable_dir(path("checkpoints"));
  save_config(config, path("config.yaml"));
  add_log_file(path("log.txt"));
}

std::string WorkDir::path(const std::string& name) const { return (fs::path(root_) / name).string(); }

std::string WorkDir::checkpoint_path(const std::string& file_name) const {
  return (fs::path(root_) / "checkpoints" / file_name).string();
}

std::string WorkDir::last_checkpoint() const {
  const std::string marker = path("last_checkpoint");
  std::error_code ec;
  if (!fs::exists(marker, ec)) return "";
  std::string name = read_file(marker);
  while (!name.empty() && (name.back() == '\n' || name.back() == '\r' || name.back() == ' ')) name.pop_back();
  if (name.empty()) return "";
  const fs::path p = fs::path(name).is_absolute() ? fs::path(name) : fs::path(root_) / name;
  return p.string();
}

void WorkDir::set_last_checkpoint(const std::string& checkpoint) const {
  // Stored relative to the work dir so a moved work dir still resumes.
  const std::string rel = fs::path(checkpoint).lexically_relative(root_).string();
  write_file_atomic(path("last_checkpoint"), (rel.empty() ? checkpoint : rel) + "\n");
}

void MetricsWriter::open(const std::string& path, int64_t keep_up_to_step) {
  if (keep_up_to_step >= 0) {
    std::error_code ec;
    if (fs::exists(path, ec)) {
      std::ifstream in(path);
      std::string kept, line;
      while (std::getline(in, line)) {
        if (line.empty()) continue;
        try {
          const auto j = nlohmann::json::parse(line);
          if (j.contains("step") && j["step"].get<int64_t>() > keep_up_to_step) continue;
        } catch (const nlohmann::json::exception&) {
          continue;  // a line cut by a kill: drop it
        }
        kept += line + "\n";
      }
      write_file_atomic(path, kept);
    }
  }
  out_.open(path, std::ios::app);
  if (!out_) throw Error("cannot open " + path + " for writing");
}

void MetricsWriter::write(const nlohmann::json& record) {
  if (!out_.is_open()) return;
  out_ << record.dump() << "\n";
  out_.flush();
}

}  // namespace dkd
