#include "dkd/util/logging.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdio>
#include <memory>
#include <mutex>

#include "dkd/util/error.h"
#include "dkd/util/runtime.h"

namespace dkd {

namespace {

/// log.txt: each message appended at once through FileWriter. A write that
/// fails (a full disk) is said once on the console, and the file is given up:
/// the run goes on logging to the console only.
class LogFileSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit LogFileSink(const std::string& path) : file_(path, /*append=*/true) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (failed_) return;
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    const int64_t size = file_.size();
    try {
      file_.write(formatted.data(), formatted.size());
    } catch (const Error& e) {
      failed_ = true;
      file_.truncate(size);
      std::fprintf(stderr, "%s; logging to the console only from now on\n", e.what());
    }
  }
  void flush_() override {}

 private:
  FileWriter file_;
  bool failed_ = false;
};

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
  g_file_sink = std::make_shared<LogFileSink>(path);  // an Error naming the file when it cannot be opened
  g_file_path = path;
  rebuild_logger();
}

void set_log_rank(int rank) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_rank = rank;
  rebuild_logger();
}

}  // namespace dkd
