#include "dkd/train/step_logger.h"

#include "dkd/train/work_dir.h"

namespace dkd {

StepLogger::StepLogger(std::string throughput_key) : throughput_key_(std::move(throughput_key)) {}

void StepLogger::add_step(const std::map<std::string, double>& terms, int64_t samples) {
  samples_ += samples;
  for (const auto& [name, value] : terms) {
    auto& [sum, n] = sums_[name];
    sum += value;
    n += 1;
  }
}

void StepLogger::write(MetricsWriter& metrics, nlohmann::json header) {
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  for (const auto& [name, sum_n] : sums_) header[name] = sum_n.first / sum_n.second;
  header[throughput_key_] = elapsed > 0 ? static_cast<double>(samples_) / elapsed : 0.0;
  header["data_wait_s"] = data_wait_;
  header["data_wait_fraction"] = elapsed > 0 ? data_wait_ / elapsed : 0.0;
  metrics.write(header);
  reset();
}

void StepLogger::reset() {
  sums_.clear();
  data_wait_ = 0.0;
  samples_ = 0;
  start_ = Clock::now();
}

}  // namespace dkd
