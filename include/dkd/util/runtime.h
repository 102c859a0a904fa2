#pragma once
// Process-level helpers: the device from its name, threads, atomic and durable
// file writes. runtime.* of a config is applied by config/runtime_setup.h.
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

/// Writes `path` atomically and durably: `write` writes the whole file to the
/// temporary path it is given (atomic_temp_path(path)), then fsync(tmp), rename,
/// fsync(the directory), so after a power loss `path` holds either its old or its
/// new contents, never an empty or partial file. When `write` throws or a step
/// fails, the temporary is removed (and the exception passed on, or an Error).
/// Every file dkd writes atomically (checkpoints, best.pt, last_checkpoint,
/// config.yaml, reports) goes through here.
void write_file_atomic_with(const std::string& path, const std::function<void(const std::string& tmp)>& write);

/// Writes `contents` to `path` atomically and durably (write_file_atomic_with).
void write_file_atomic(const std::string& path, const std::string& contents);

/// Copies `from` to `to` atomically and durably (write_file_atomic_with).
void copy_file_atomic(const std::string& from, const std::string& to);

/// The temporary name the atomic writers use for `path`: "<path>.tmp.<pid>".
std::string atomic_temp_path(const std::string& path);

/// Removes temporaries ("*.tmp.<pid>", "*.tmp") left under `dir` (recursively) by
/// processes that no longer run; returns the paths removed.
std::vector<std::string> remove_stale_temporaries(const std::string& dir);

/// Whole file as a string; DataError naming it when unreadable.
std::string read_file(const std::string& path);

}  // namespace dkd
