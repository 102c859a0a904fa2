#pragma once
// The trainer's metrics collaborator: running means of the loss terms,
// throughput and data-loader wait between two metrics.jsonl lines. Reset at
// every log line and every checkpoint, so an interrupted and resumed run logs
// the same numbers as an uninterrupted one.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace dkd {

class MetricsWriter;

class StepLogger {
 public:
  /// `throughput_key`: "frames_per_s" or "clips_per_s".
  explicit StepLogger(std::string throughput_key);

  /// Time spent waiting for the loader before a step.
  void add_data_wait(double seconds) { data_wait_ += seconds; }
  /// The loss terms of one step and the samples it saw (over all ranks).
  void add_step(const std::map<std::string, double>& terms, int64_t samples);
  /// Writes one "train" line: `header` (stage, epoch, step, lr, ...) plus the
  /// window's means, throughput and data wait; then starts a new window.
  void write(MetricsWriter& metrics, nlohmann::json header);
  /// Starts a new window without writing (after a checkpoint or an evaluation).
  void reset();

 private:
  using Clock = std::chrono::steady_clock;
  std::string throughput_key_;
  std::map<std::string, std::pair<double, int>> sums_;
  double data_wait_ = 0.0;
  int64_t samples_ = 0;
  Clock::time_point start_ = Clock::now();
};

}  // namespace dkd
