#pragma once
// Process-level helpers: the device from its name, threads, atomic and durable
// file writes. runtime.* of a config is applied by config/runtime_setup.h.
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

/// Writes `contents` to `path` via a temporary file and rename (no partial files),
/// durably: see commit_file_atomic.
void write_file_atomic(const std::string& path, const std::string& contents);

/// The temporary name the atomic writers use for `path`: "<path>.tmp.<pid>".
std::string atomic_temp_path(const std::string& path);

/// Replaces `path` by the finished temporary file `tmp`: fsync(tmp), rename,
/// fsync(the directory), so after a power loss `path` holds either its old or its
/// new contents, never an empty or partial file. `tmp` is removed on failure.
/// Every file dkd writes atomically (checkpoints, best.pt, last_checkpoint,
/// config.yaml, reports) goes through here.
void commit_file_atomic(const std::string& tmp, const std::string& path);

/// Copies `from` to `to` atomically and durably (temporary file + commit_file_atomic).
void copy_file_atomic(const std::string& from, const std::string& to);

/// Removes temporaries ("*.tmp.<pid>", "*.tmp") left under `dir` (recursively) by
/// processes that no longer run; returns the paths removed.
std::vector<std::string> remove_stale_temporaries(const std::string& dir);

/// Whole file as a string; DataError naming it when unreadable.
std::string read_file(const std::string& path);

}  // namespace dkd
