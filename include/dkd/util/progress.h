#pragma once
// Progress reporting for long loops: a one-line bar with rate and ETA on a
// terminal; periodic plain log lines when stderr is not a terminal (CI, files).
#include <chrono>
#include <cstdint>
#include <string>

namespace dkd {

class ProgressBar {
 public:
  /// `total` <= 0 means unknown (no ETA). `unit` names what is counted ("it", "clips", "frames").
  ProgressBar(std::string label, int64_t total, std::string unit = "it");
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// Advance by `n` and show `status` (e.g. current losses) after the counters.
  void tick(int64_t n = 1, const std::string& status = "");
  /// Set the label shown before the bar (e.g. "dkd epoch 3/10").
  void set_label(std::string label);
  /// Print the final line (idempotent; also done by the destructor).
  void finish();
  int64_t count() const { return count_; }
  double elapsed_s() const;
  /// Items per second since the start.
  double rate() const;

  /// Formats seconds as "1h02m", "3m05s" or "12s".
  static std::string format_duration(double seconds);

 private:
  void render(bool final_line);

  std::string label_;
  std::string unit_;
  std::string status_;
  int64_t total_;
  int64_t count_ = 0;
  int64_t rendered_count_ = -1;  ///< count shown by the last plain line
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_render_;
};

}  // namespace dkd
