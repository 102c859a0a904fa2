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
#include <utility>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

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

std::string atomic_temp_path(const std::string& path, bool keep_extension) {
  const std::string suffix = ".tmp." + std::to_string(getpid());
  if (!keep_extension) return path + suffix;
  const fs::path p(path);
  const std::string ext = p.extension().string();
  return path.substr(0, path.size() - ext.size()) + suffix + ext;
}

namespace {

/// The full-disk test hook: writes to names containing `name_part` may write
/// `budget` more bytes (-1: no hook).
struct WriteFault {
  std::mutex mutex;
  std::string name_part;
  int64_t budget = -1;

  WriteFault() {
    // DKD_TEST_FULL_DISK=<name_part>:<after_bytes>, for the tests of the tools.
    const char* spec = std::getenv("DKD_TEST_FULL_DISK");
    if (!spec) return;
    const std::string text = spec;
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) return;
    name_part = text.substr(0, colon);
    budget = std::strtoll(text.c_str() + colon + 1, nullptr, 10);
  }

  /// How many of `wanted` bytes to `name` may be written (all when no hook
  /// applies); 0 means the disk is "full".
  std::size_t allow(const std::string& name, std::size_t wanted) {
    std::lock_guard<std::mutex> lock(mutex);
    if (budget < 0 || name.find(name_part) == std::string::npos) return wanted;
    const auto n = std::min<std::size_t>(wanted, static_cast<std::size_t>(budget));
    budget -= static_cast<int64_t>(n);
    return n;
  }
};

WriteFault& write_fault() {
  static WriteFault fault;
  return fault;
}

std::string parent_dir(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

/// fsync of a file or directory; false (errno set) on failure.
bool sync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0 || errno == EINVAL;  // EINVAL: a file system without fsync
  const int saved = errno;
  ::close(fd);
  errno = saved;
  return ok;
}

}  // namespace

std::string free_space_text(const std::string& path) {
  const std::string dir = parent_dir(path);
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return "free space of " + dir + " unknown";
  const double bytes = static_cast<double>(st.f_bavail) * static_cast<double>(st.f_frsize);
  char text[64];
  if (bytes < 1e6)
    std::snprintf(text, sizeof text, "%.0f bytes", bytes);
  else
    std::snprintf(text, sizeof text, "%.1f MB", bytes / 1e6);
  return std::string(text) + " free on the file system of " + dir;
}

std::string write_failure_message(const std::string& name, int error_number) {
  return "cannot write " + name + ": " + std::strerror(error_number) + " (" + free_space_text(name) + ")";
}

void fail_writes_for_testing(const std::string& name_part, int64_t after_bytes) {
  WriteFault& fault = write_fault();
  std::lock_guard<std::mutex> lock(fault.mutex);
  fault.name_part = name_part;
  fault.budget = after_bytes;
}

FileWriter::FileWriter(const std::string& path, bool append, std::string name)
    : path_(path), name_(name.empty() ? path : std::move(name)) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
  if (fd_ < 0) throw Error(write_failure_message(name_, errno));
  const off_t end = ::lseek(fd_, 0, SEEK_END);
  size_ = end > 0 ? static_cast<int64_t>(end) : 0;
}

FileWriter::~FileWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void FileWriter::write(const void* data, std::size_t size) {
  if (fd_ < 0) throw Error("cannot write " + name_ + ": the file is closed");
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    // The test hook: as much as "fits", then ENOSPC, as a full disk does.
    const std::size_t chunk = write_fault().allow(name_, size);
    if (chunk == 0) throw Error(write_failure_message(name_, ENOSPC));
    const ssize_t n = ::write(fd_, p, chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(write_failure_message(name_, errno));
    }
    if (n == 0) throw Error(write_failure_message(name_, ENOSPC));
    p += n;
    size -= static_cast<std::size_t>(n);
    size_ += n;
  }
}

void FileWriter::truncate(int64_t size) noexcept {
  if (fd_ >= 0 && ::ftruncate(fd_, static_cast<off_t>(size)) == 0) size_ = size;
}

void FileWriter::close() {
  if (fd_ < 0) return;
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) throw Error(write_failure_message(name_, errno));
}

void commit_file_atomic(const std::string& tmp, const std::string& path) {
  std::error_code ec;
  // The data must be on disk before the name points at it (a file system that
  // allocates late reports a full disk here)...
  if (!sync_path(tmp, false)) {
    const std::string why = write_failure_message(path, errno);
    fs::remove(tmp, ec);
    throw Error(why + "; fsync of " + tmp + " failed, the temporary was removed");
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw Error(write_failure_message(path, ec.value()) + "; renaming " + tmp + " failed, the temporary was removed");
  }
  // ...and the rename itself must reach the disk (the directory entry).
  if (!sync_path(parent_dir(path), true))
    throw Error(write_failure_message(path, errno) + "; fsync of its directory failed");
}

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
  write_file_atomic_with(path, [&](const std::string& tmp) {
    FileWriter f(tmp, false, path);
    f.write(contents);
    f.close();
  });
}

void write_file(const std::string& path, const std::string& contents) {
  try {
    FileWriter f(path);
    f.write(contents);
    f.close();
  } catch (const Error&) {
    std::error_code ignored;
    fs::remove(path, ignored);
    throw;
  }
}

void copy_file_atomic(const std::string& from, const std::string& to) {
  write_file_atomic_with(to, [&](const std::string& tmp) {
    std::ifstream in(from, std::ios::binary);
    if (!in) throw Error("cannot copy " + from + " to " + to + ": cannot open " + from);
    FileWriter out(tmp, false, to);
    std::vector<char> buffer(1 << 20);
    while (in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      if (in.gcount() > 0) out.write(buffer.data(), static_cast<std::size_t>(in.gcount()));
    }
    if (in.bad()) throw Error("cannot copy " + from + " to " + to + ": read error in " + from);
    out.close();
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
    std::string tail = name.substr(dot + 4);  // "", ".<pid>" or ".<pid>.<ext>"
    if (const auto ext = tail.find('.', 1); ext != std::string::npos) tail.resize(ext);
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

FileLock::FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

bool FileLock::try_lock(const std::string& path, long* holder) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot open lock file " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int why = errno;
    if (holder) {
      char text[32] = {};
      const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
      char* end = nullptr;
      const long pid = n > 0 ? std::strtol(text, &end, 10) : -1;
      *holder = pid > 0 ? pid : -1;
    }
    ::close(fd);
    if (why == EWOULDBLOCK) return false;
    throw Error("cannot lock " + path + ": " + std::strerror(why));
  }
  // The holder's id, for the message of the process that finds the lock taken.
  const std::string pid = std::to_string(getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    // Only the message of a refused process would lack the id: the lock holds.
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  return true;
}

bool FileLock::adopt(int fd, const std::string& path) {
  struct stat a;
  struct stat b;
  if (fd < 0 || ::fstat(fd, &a) != 0 || ::stat(path.c_str(), &b) != 0) return false;
  if (a.st_dev != b.st_dev || a.st_ino != b.st_ino) return false;
  // The same open file description as the parent's: flock succeeds on it and
  // fails if the parent never held the lock.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) return false;
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (fd_ >= 0 && fd_ != fd) ::close(fd_);
  fd_ = fd;
  return true;
}

int FileLock::share_with_children() {
  if (fd_ >= 0) ::fcntl(fd_, F_SETFD, 0);
  return fd_;
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
