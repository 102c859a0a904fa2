#include "dkd/util/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <sstream>

#include <spdlog/spdlog.h>

namespace dkd {

namespace {
constexpr double kTtyRefreshS = 0.2;    // redraw rate on a terminal
constexpr double kPlainIntervalS = 15;  // log line interval when not a terminal
}  // namespace

ProgressBar::ProgressBar(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_render_(start_) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::set_label(std::string label) { label_ = std::move(label); }

double ProgressBar::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double ProgressBar::rate() const {
  const double e = elapsed_s();
  return e > 0 ? static_cast<double>(count_) / e : 0.0;
}

std::string ProgressBar::format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = static_cast<long>(std::lround(seconds));
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof(buf), "%ldm%02lds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%lds", s);
  }
  return buf;
}

void ProgressBar::tick(int64_t n, const std::string& status) {
  count_ += n;
  if (!status.empty()) status_ = status;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_render_).count();
  const bool done = total_ > 0 && count_ >= total_;
  if (since >= (tty_ ? kTtyRefreshS : kPlainIntervalS) || done) {
    last_render_ = now;
    render(false);
  }
}

void ProgressBar::render(bool final_line) {
  std::ostringstream line;
  line << label_ << " ";
  const double r = rate();
  if (total_ > 0) {
    const double frac = std::min(1.0, static_cast<double>(count_) / static_cast<double>(total_));
    if (tty_) {
      constexpr int width = 24;
      const int filled = static_cast<int>(frac * width);
      line << "[" << std::string(filled, '#') << std::string(width - filled, '.') << "] ";
    }
    line << count_ << "/" << total_ << " (" << static_cast<int>(frac * 100) << "%)";
  } else {
    line << count_;
  }
  char rate_text[48];
  std::snprintf(rate_text, sizeof(rate_text), " %.2f %s/s", r, unit_.c_str());
  line << rate_text << " elapsed " << format_duration(elapsed_s());
  if (total_ > 0 && !final_line && r > 0) line << " ETA " << format_duration(static_cast<double>(total_ - count_) / r);
  if (!status_.empty()) line << " | " << status_;
  if (tty_) {
    std::fprintf(stderr, "\r\033[2K%s%s", line.str().c_str(), final_line ? "\n" : "");
    std::fflush(stderr);
  } else {
    spdlog::info("{}", line.str());
    rendered_count_ = count_;
  }
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  // A plain log already showing the final count needs no second line.
  if (tty_ || (count_ > 0 && rendered_count_ != count_)) render(true);
}

}  // namespace dkd
