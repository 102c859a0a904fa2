#pragma once
// Applies runtime.* settings: threads (Debian's LibTorch starts with 1),
// device, seeds and deterministic mode.
#include <string>

#include <c10/core/Device.h>

namespace dkd {

struct RuntimeConfig;

/// Parses runtime.device ("cpu", "cuda", "cuda:N"); ConfigError when CUDA is
/// requested but this LibTorch build or machine has none.
c10::Device resolve_device(const std::string& device);

/// Sets threads, seeds (seed + rank) and determinism. Returns the device.
c10::Device apply_runtime(const RuntimeConfig& runtime, int rank = 0);

/// Number of intra-op threads LibTorch uses now.
int current_threads();

/// Creates `dir` (and parents); Error naming it when it cannot be created or written.
void ensure_writable_dir(const std::string& dir);

/// Writes `contents` to `path` via a temporary file and rename (no partial files).
void write_file_atomic(const std::string& path, const std::string& contents);

/// Whole file as a string; DataError naming it when unreadable.
std::string read_file(const std::string& path);

}  // namespace dkd
