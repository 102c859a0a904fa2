#include "dkd/train/work_dir.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <filesystem>
#include <map>
#include <sstream>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "dkd/models/checkpoint.h"

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

bool WorkDir::holds_run() const {
  std::error_code ec;
  if (fs::exists(path("last_checkpoint"), ec) || fs::exists(best_path(), ec)) return true;
  return !checkpoints_newest_first().empty();
}

std::string WorkDir::move_aside() const {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
  std::string root = root_;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  std::string target = root + ".old-" + stamp;
  std::error_code ec;
  for (int n = 2; fs::exists(target, ec); ++n) target = root + ".old-" + stamp + "-" + std::to_string(n);
  fs::rename(root, target, ec);
  if (ec) throw Error("--force: cannot move " + root_ + " aside to " + target + ": " + ec.message());
  return target;
}

std::vector<std::string> WorkDir::clean_temporaries() const { return remove_stale_temporaries(root_); }

std::vector<std::string> WorkDir::checkpoints_newest_first() const {
  std::vector<std::pair<fs::file_time_type, std::string>> found;
  std::error_code ec;
  const fs::path dir = fs::path(root_) / "checkpoints";
  if (!fs::is_directory(dir, ec)) return {};
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->path().extension() != ".pt") continue;
    found.emplace_back(fs::last_write_time(it->path(), ec), it->path().string());
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second > b.second; });
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

std::string WorkDir::pick_resume_checkpoint(std::string* note) const {
  std::vector<std::string> candidates;
  const std::string named = last_checkpoint();
  if (!named.empty()) candidates.push_back(named);
  for (auto& c : checkpoints_newest_first())
    if (fs::path(c) != fs::path(named)) candidates.push_back(c);
  if (candidates.empty())
    throw UsageError("--resume: no last_checkpoint in " + root_ + " and no checkpoint under " + path("checkpoints") +
                     " (nothing to resume)");
  std::string rejected;
  for (const auto& c : candidates) {
    try {
      // Reading the meta loads the whole archive: every record is read and checked.
      (void)read_checkpoint_meta(c);
    } catch (const Error& e) {
      rejected += std::string(rejected.empty() ? "" : "; ") + e.what();
      continue;
    }
    if (note) {
      note->clear();
      if (!rejected.empty())
        *note = "--resume: passed over unreadable checkpoint(s) (" + rejected + "); resuming from " + c +
                (named.empty() ? "" : " instead of " + named + ", the newest good checkpoint under checkpoints/");
    }
    return c;
  }
  throw Error("--resume: no checkpoint in " + root_ + " can be read: " + rejected);
}

namespace {

/// Leaf values of a YAML tree by dotted key (sequences as flow YAML).
void flatten(const YAML::Node& node, const std::string& prefix, std::map<std::string, std::string>& out) {
  if (node.IsMap()) {
    for (const auto& kv : node)
      flatten(kv.second, prefix.empty() ? kv.first.as<std::string>() : prefix + "." + kv.first.as<std::string>(), out);
    return;
  }
  YAML::Emitter e;
  e << YAML::Flow << node;
  out[prefix] = e.c_str();
}

}  // namespace

namespace {

/// This process's work dir locks, by absolute path.
std::map<std::string, FileLock>& held_locks() {
  static std::map<std::string, FileLock> locks;
  return locks;
}

std::string lock_key(const std::string& root) { return fs::absolute(root).lexically_normal().string(); }

}  // namespace

void lock_work_dir(const std::string& root) {
  const std::string key = lock_key(root);
  auto& locks = held_locks();
  if (locks.count(key)) return;
  ensure_writable_dir(root);
  const std::string path = (fs::path(root) / kWorkDirLockFile).string();
  FileLock lock;
  if (const char* inherited = std::getenv(kWorkDirLockEnv); inherited && *inherited) {
    char* end = nullptr;
    const long fd = std::strtol(inherited, &end, 10);
    if (*end == '\0' && lock.adopt(static_cast<int>(fd), path)) {
      locks.emplace(key, std::move(lock));
      return;
    }
  }
  long holder = -1;
  if (!lock.try_lock(path, &holder))
    throw UsageError(root + " is in use by another dkd_train" +
                     (holder > 0 ? " (pid " + std::to_string(holder) + ")" : std::string()) + ", which holds " + path +
                     "; two runs in one work dir would mix their checkpoints and metrics. Wait for it to end, "
                     "stop it, or train into another --work-dir");
  locks.emplace(key, std::move(lock));
}

void unlock_work_dir(const std::string& root) { held_locks().erase(lock_key(root)); }

void share_work_dir_lock(const std::string& root) {
  const auto it = held_locks().find(lock_key(root));
  if (it == held_locks().end()) throw Error("share_work_dir_lock: " + root + " is not locked by this process");
  ::setenv(kWorkDirLockEnv, std::to_string(it->second.share_with_children()).c_str(), 1);
}

std::vector<std::string> config_differences(const Config& stored, const Config& given) {
  std::map<std::string, std::string> a, b;
  flatten(YAML::Load(dump_config(stored, false)), "", a);
  flatten(YAML::Load(dump_config(given, false)), "", b);
  std::vector<std::string> out;
  for (const auto& [key, value] : b) {
    const auto it = a.find(key);
    const std::string old = it == a.end() ? "(none)" : it->second;
    if (old != value) out.push_back(key + ": " + old + " -> " + value);
  }
  for (const auto& [key, value] : a)
    if (!b.count(key)) out.push_back(key + ": " + value + " -> (none)");
  return out;
}

MetricsWriter::MetricsWriter() = default;
MetricsWriter::~MetricsWriter() = default;

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
  out_ = std::make_unique<FileWriter>(path, /*append=*/true);
}

void MetricsWriter::write(const nlohmann::json& record) {
  if (!out_) return;
  const int64_t size = out_->size();
  try {
    out_->write(record.dump() + "\n");
  } catch (const Error&) {
    out_->truncate(size);
    throw;
  }
}

}  // namespace dkd
