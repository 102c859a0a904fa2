#pragma once
// Logging: spdlog to the console (stderr) and, once a work dir exists, to its
// log file. Use spdlog::info/warn/error directly after init_logging().
#include <string>

#include <spdlog/spdlog.h>

namespace dkd {

/// Console logging at `level` (trace, debug, info, warn, error).
void init_logging(const std::string& level = "info");
/// Also write every message to `path` (appending). Safe to call again with another path.
void add_log_file(const std::string& path);
/// Only rank 0 talks: other ranks log warnings and errors only.
void set_log_rank(int rank);

}  // namespace dkd
