#include "dkd/util/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <memory>
#include <mutex>

#include "dkd/util/error.h"

namespace dkd {

namespace {

std::mutex g_mutex;
std::shared_ptr<spdlog::sinks::sink> g_file_sink;
std::string g_file_path;
spdlog::level::level_enum g_level = spdlog::level::info;
int g_rank = 0;

void rebuild_logger() {
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  std::vector<spdlog::sink_ptr> sinks{console};
  if (g_file_sink) sinks.push_back(g_file_sink);
  auto logger = std::make_shared<spdlog::logger>("dkd", sinks.begin(), sinks.end());
  logger->set_pattern(g_rank == 0 ? "[%Y-%m-%d %H:%M:%S] [%^%l%$] %v"
                                  : "[%Y-%m-%d %H:%M:%S] [rank " + std::to_string(g_rank) + "] [%^%l%$] %v");
  logger->set_level(g_rank == 0 ? g_level : std::max(g_level, spdlog::level::warn));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace

void init_logging(const std::string& level) {
  std::lock_guard<std::mutex> lock(g_mutex);
  const auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off")
    throw ConfigError("runtime.log_level: unknown level '" + level + "'");
  g_level = parsed;
  rebuild_logger();
}

void add_log_file(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (path == g_file_path) return;
  try {
    g_file_sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, false);
  } catch (const spdlog::spdlog_ex& e) {
    throw Error("cannot open log file " + path + ": " + e.what());
  }
  g_file_path = path;
  rebuild_logger();
}

void set_log_rank(int rank) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_rank = rank;
  rebuild_logger();
}

}  // namespace dkd
