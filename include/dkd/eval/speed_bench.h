#pragma once
// dkd_eval --bench, measuring apart from writing: measure_speed_bench times the
// initializer, the baseline and DKD (random frames and weights, no data set) and
// this machine's arithmetic rates; speed_bench_tables turns that into one table
// model per batch size, which the text, Markdown and JSON writers lay out.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dkd/config/config.h"
#include "dkd/eval/report.h"
#include "dkd/eval/table.h"
#include "dkd/util/blas.h"

namespace dkd {

struct SpeedBenchRow {
  std::string name;  ///< "initializer", "baseline" or "DKD (later frames)"
  SpeedInfo speed;
  double gmacs = 0.0;   ///< per frame, as the complexity report counts them
  double params = 0.0;  ///< parameters of the network
};

struct SpeedBench {
  std::string device;
  int threads = 0;
  std::vector<int> input_size;               ///< [w, h]
  Precision precision = Precision::float32;  ///< infer.precision
  int speed_frames = 0;                      ///< eval.speed_frames
  int warmup_frames = 0;                     ///< eval.warmup_frames
  BlasInfo blas;
  std::string onednn;
  MachineRates rates;
  /// One video at a time; the first row (the initializer) is every ratio's reference.
  std::vector<SpeedBenchRow> rows;
  /// eval.batch_videos videos stepping together; empty when that is 1.
  int64_t streams = 1;
  std::vector<SpeedBenchRow> stream_rows;
};

/// Times the three networks of `config` at batch 1 and, when eval.batch_videos > 1,
/// with that many videos stepping together, then measures the machine's rates.
SpeedBench measure_speed_bench(const Config& config);

/// The tables of a bench: batch 1, then the streams table when there is one.
/// Ratios are to each table's own first row (the initializer at the same batch);
/// the share column compares a network's achieved rate with the machine's 3x3
/// convolution rate in the arithmetic it runs in (bfloat16 with infer.precision).
std::vector<Table> speed_bench_tables(const SpeedBench& bench);

/// The machine lines and the tables, as console text or Markdown.
std::string format_speed_bench(const SpeedBench& bench, bool markdown);
/// {"device", "threads", "input_size", "blas", "onednn", "machine_gflops", "precision",
///  "rows": [...], "streams": {"count", "rows"} (with more than one video)}.
nlohmann::json speed_bench_to_json(const SpeedBench& bench);

}  // namespace dkd
