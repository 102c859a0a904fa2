#pragma once
// Process-level helpers: the device from its name, threads, atomic and durable
// file writes. runtime.* of a config is applied by config/runtime_setup.h.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <c10/core/Device.h>

namespace dkd {

/// Parses runtime.device ("cpu", "cuda", "cuda:N"); ConfigError when CUDA is
/// requested but this LibTorch build or machine has none.
c10::Device resolve_device(const std::string& device);

/// Number of intra-op threads LibTorch uses now.
int current_threads();

/// Creates `dir` (and parents); Error naming it when it cannot be created or written.
void ensure_writable_dir(const std::string& dir);

/// A file written through checked write(2) calls, for the writers below and
/// their callbacks. Every failure (a full disk above all) is an Error naming
/// `name` (the file the user knows, e.g. the final name of a temporary), the
/// cause and the free space left on its file system. Closing in the destructor
/// never throws; close() reports a failed close.
class FileWriter {
 public:
  /// Creates or truncates `path` (`append`: opens it for appending).
  explicit FileWriter(const std::string& path, bool append = false, std::string name = "");
  ~FileWriter();
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  /// Writes all `size` bytes; Error on a short or failed write.
  void write(const void* data, std::size_t size);
  void write(const std::string& bytes) { write(bytes.data(), bytes.size()); }
  /// Bytes in the file (its size when opened plus those written since).
  int64_t size() const { return size_; }
  /// Cuts the file back to `size` bytes (an append that failed half-way); never throws.
  void truncate(int64_t size) noexcept;
  void close();

 private:
  int fd_ = -1;
  int64_t size_ = 0;
  std::string path_;
  std::string name_;
};

/// "cannot write NAME: WHY (N MB free on the file system of DIR)": the message of a
/// failed write of `name` with errno `error_number`.
std::string write_failure_message(const std::string& name, int error_number);
/// "N MB free on the file system of DIR" for the folder of `path`.
std::string free_space_text(const std::string& path);

/// Test hook, a full disk without one: from now on, writes through FileWriter to
/// files whose name contains `name_part` ("" = any file) fail with ENOSPC once
/// `after_bytes` more bytes were written to them; a negative `after_bytes` turns
/// it off. A tool starts with DKD_TEST_FULL_DISK=<name_part>:<after_bytes> set
/// this way (the tests of the tools' behaviour on a full disk).
void fail_writes_for_testing(const std::string& name_part, int64_t after_bytes);

/// Writes `path` atomically and durably: `write` writes the whole file to the
/// temporary path it is given (atomic_temp_path(path)), then fsync(tmp), rename,
/// fsync(the directory), so after a power loss `path` holds either its old or its
/// new contents, never an empty or partial file. When `write` throws or a step
/// fails (a full disk), the temporary is removed, `path` is left as it was, and
/// the exception is passed on (or an Error naming `path` and the free space).
/// Every file dkd writes atomically (checkpoints, best.pt, last_checkpoint,
/// config.yaml, reports, plots, predictions) goes through here.
void write_file_atomic_with(const std::string& path, const std::function<void(const std::string& tmp)>& write);

/// Writes `contents` to `path` atomically and durably (write_file_atomic_with).
void write_file_atomic(const std::string& path, const std::string& contents);

/// Writes `contents` to `path` with checked writes but without the fsyncs (many
/// small files, e.g. generated frames); a partial file is removed on failure.
void write_file(const std::string& path, const std::string& contents);

/// Copies `from` to `to` atomically and durably (write_file_atomic_with).
void copy_file_atomic(const std::string& from, const std::string& to);

/// The temporary name the atomic writers use for `path`: "<path>.tmp.<pid>", or
/// with `keep_extension` "<stem>.tmp.<pid><extension>" (for writers that choose
/// the format by the extension, such as video writers).
std::string atomic_temp_path(const std::string& path, bool keep_extension = false);

/// Replaces `path` by the finished temporary `tmp` (fsync, rename, fsync of the
/// directory), for writers that cannot write through a callback; `tmp` is removed
/// on failure (an Error naming `path`).
void commit_file_atomic(const std::string& tmp, const std::string& path);

/// Removes temporaries ("*.tmp.<pid>", "*.tmp.<pid>.<ext>", "*.tmp") left under
/// `dir` (recursively) by processes that no longer run; returns the paths removed.
std::vector<std::string> remove_stale_temporaries(const std::string& dir);

/// An exclusive flock(2) on a file, held while the object (or a process it was
/// handed to) keeps its descriptor open. The kernel releases it when the holder
/// dies, so a killed process never leaves a stale lock.
class FileLock {
 public:
  FileLock() = default;
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  ~FileLock();

  /// Takes the lock on `path` (created when missing) without waiting and writes
  /// this process's id into the file. False when another open file holds it;
  /// then `*holder` is the id written by the holder (-1 when unknown).
  bool try_lock(const std::string& path, long* holder = nullptr);
  /// Takes over the inherited descriptor `fd` when it is an open, locked file at
  /// `path` (a lock handed down by a parent process); false otherwise.
  bool adopt(int fd, const std::string& path);
  /// Lets child processes inherit the descriptor (clears close-on-exec); returns it.
  int share_with_children();
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

/// Whole file as a string; DataError naming it when unreadable.
std::string read_file(const std::string& path);

}  // namespace dkd
