#include "dkd/util/runtime.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dkd/util/error.h"

namespace fs = std::filesystem;

namespace dkd {

c10::Device resolve_device(const std::string& device) {
  if (device == "cpu") return c10::Device(c10::kCPU);
  if (device == "cuda" || device.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available())
      throw ConfigError("runtime.device: '" + device +
                        "' requested but CUDA is not available (this LibTorch build or machine has no GPU); "
                        "use runtime.device=cpu");
    int index = 0;
    if (device.size() > 5) {
      const std::string idx = device.substr(5);
      char* end = nullptr;
      const long parsed = std::strtol(idx.c_str(), &end, 10);
      if (idx.empty() || *end != '\0' || parsed < 0)
        throw ConfigError("runtime.device: expected cuda:N with N a device index, got '" + device + "'");
      index = static_cast<int>(parsed);
    }
    const auto count = static_cast<int>(torch::cuda::device_count());
    if (index >= count)
      throw ConfigError("runtime.device: '" + device + "' requested but only " + std::to_string(count) +
                        " CUDA device(s) exist");
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw ConfigError("runtime.device: expected cpu, cuda or cuda:N, got '" + device + "'");
}

int current_threads() { return at::get_num_threads(); }

void ensure_writable_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) throw Error("cannot create directory " + dir + (ec ? ": " + ec.message() : ""));
  if (access(dir.c_str(), W_OK) != 0) throw Error("directory is not writable: " + dir);
}

std::string atomic_temp_path(const std::string& path) { return path + ".tmp." + std::to_string(getpid()); }

namespace {

/// fsync of a file or directory; false (errno set) on failure.
bool sync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0 || errno == EINVAL;  // EINVAL: a file system without fsync
  ::close(fd);
  return ok;
}

std::string parent_dir(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

/// Replaces `path` by the finished temporary file `tmp` (fsync, rename, fsync of
/// the directory); `tmp` is removed on failure.
void commit_file_atomic(const std::string& tmp, const std::string& path) {
  std::error_code ec;
  // The data must be on disk before the name points at it...
  if (!sync_path(tmp, false)) {
    const std::string why = std::strerror(errno);
    fs::remove(tmp, ec);
    throw Error("cannot write " + path + ": fsync of " + tmp + " failed: " + why);
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw Error("cannot write " + path + ": " + ec.message());
  }
  // ...and the rename itself must reach the disk (the directory entry).
  if (!sync_path(parent_dir(path), true))
    throw Error("cannot write " + path + ": fsync of its directory failed: " + std::strerror(errno));
}

}  // namespace

void write_file_atomic_with(const std::string& path, const std::function<void(const std::string& tmp)>& write) {
  const std::string tmp = atomic_temp_path(path);
  try {
    write(tmp);
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
  commit_file_atomic(tmp, path);
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  write_file_atomic_with(path, [&contents](const std::string& tmp) {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw Error("cannot write " + tmp);
    f << contents;
    f.flush();
    if (!f) throw Error("cannot write " + tmp);
  });
}

void copy_file_atomic(const std::string& from, const std::string& to) {
  write_file_atomic_with(to, [&](const std::string& tmp) {
    std::error_code ec;
    fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
    if (ec) throw Error("cannot copy " + from + " to " + to + ": " + ec.message());
  });
}

std::vector<std::string> remove_stale_temporaries(const std::string& dir) {
  std::vector<std::string> removed;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return removed;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string name = it->path().filename().string();
    const auto dot = name.rfind(".tmp");
    if (dot == std::string::npos) continue;
    const std::string tail = name.substr(dot + 4);  // "" or ".<pid>"
    bool stale = false;
    if (tail.empty()) {
      stale = true;  // the un-suffixed temporaries of older versions
    } else if (tail.size() > 1 && tail[0] == '.' && tail.find_first_not_of("0123456789", 1) == std::string::npos &&
               tail.size() < 12) {
      const long pid = std::stol(tail.substr(1));
      // A temporary of a process still running (e.g. another rank) is left alone.
      stale = pid != static_cast<long>(getpid()) && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
    }
    if (!stale) continue;
    std::error_code rm;
    if (fs::remove(it->path(), rm)) removed.push_back(it->path().string());
  }
  return removed;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path, "cannot open file");
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw DataError(path, "read error");
  return s.str();
}

}  // namespace dkd
