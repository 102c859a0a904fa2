#include "dkd/eval/speed_bench.h"

#include <cstdio>

#include <spdlog/spdlog.h>

#include "dkd/config/runtime_setup.h"
#include "dkd/eval/complexity.h"
#include "dkd/eval/model_eval.h"
#include "dkd/models/model_set.h"
#include "dkd/util/runtime.h"

namespace dkd {
namespace {

/// printf into a std::string (the titles carry numbers of several types).
template <class... Args>
std::string format(const char* fmt, Args... args) {
  const int n = std::snprintf(nullptr, 0, fmt, args...);
  std::string out(static_cast<std::size_t>(n) + 1, '\0');
  std::snprintf(out.data(), out.size(), fmt, args...);
  out.resize(static_cast<std::size_t>(n));
  return out;
}

/// The three networks, each timed with `streams` videos stepping together.
std::vector<SpeedBenchRow> measure_rows(const Config& config, const c10::Device& device, ModelSet& models,
                                        const ComplexityReport& report, int64_t streams) {
  std::vector<SpeedBenchRow> rows;
  const auto add = [&](const std::string& name, EvalModel model, double gmacs, double params) {
    // A large model with many streams takes minutes: say what is being timed.
    spdlog::info("bench: timing {}, {} video(s) at once, {} frames", name, streams, config.eval.speed_frames);
    model.set_packed_inference(config.infer);
    rows.push_back({name, measure_speed(model, config, device, streams), gmacs, params});
  };
  const auto& initializer = report.component("initializer");
  add("initializer", EvalModel::per_frame(models.initializer), initializer.gmacs(),
      static_cast<double>(initializer.params));
  const auto& baseline = report.component("baseline");
  add("baseline", EvalModel::per_frame(models.baseline), baseline.gmacs(), static_cast<double>(baseline.params));
  add("DKD (later frames)", EvalModel::dkd(models.dkd), report.macs_per_frame * 1e-9,
      static_cast<double>(report.params_total));
  return rows;
}

/// The 3x3 convolution rate in the arithmetic the backbones run in.
double conv_rate(const SpeedBench& bench) {
  const bool bf16 = bench.precision == Precision::bfloat16;
  return bf16 && bench.rates.conv_bf16_gflops > 0 ? bench.rates.conv_bf16_gflops : bench.rates.conv_gflops;
}

Table speed_table(const std::string& title, const std::vector<SpeedBenchRow>& rows, double rate) {
  Table t;
  t.title = title;
  t.columns = {
      {"model", "model", "name", -34},
      {"ms/frame", "ms/frame", "ms_per_frame", 10, 2},
      {"ms first", "ms first frame", "ms_first_frame", 10, 2},
      {"fps", "fps", "fps", 8, 1},
      {"", "", "streams"},
      {"GMACs/frame", "GMACs/frame", "gmacs_per_frame", 12, 3},
      {"params(M)", "params (M)", "params", 10, 2, 1e-6},
      {"time/init", "time ratio", "time_ratio_to_initializer", 10, 3},
      {"GMACs/init", "GMACs ratio", "gmacs_ratio_to_initializer", 11, 3},
      {"GFLOP/s", "GFLOP/s", "achieved_gflops", 9, 1},
      {"share", "share of conv rate", "share_of_conv_rate", 6, 0, 100.0, "%"},
  };
  const double ref_ms = rows.front().speed.ms_per_frame;
  const double ref_gmacs = rows.front().gmacs;
  for (const SpeedBenchRow& r : rows) {
    const double gflops = 2.0 * r.gmacs / (r.speed.ms_per_frame * 1e-3);
    t.rows.push_back({r.name, r.speed.ms_per_frame, r.speed.ms_first_frame, r.speed.fps, r.speed.streams, r.gmacs,
                      r.params, r.speed.ms_per_frame / ref_ms, r.gmacs / ref_gmacs, gflops, gflops / rate});
  }
  return t;
}

/// What the machine achieves, one line each (with a blank line after each in Markdown).
std::vector<std::string> machine_lines(const SpeedBench& b) {
  std::vector<std::string> lines;
  lines.push_back(
      format("Machine: BLAS %s, %s; measured %.1f GFLOP/s matrix product (1024^3), %.1f GFLOP/s 3x3 convolution, %.1f "
             "GFLOP/s 4x4 transposed convolution (1 multiply-add = 2 FLOP)",
             b.blas.name.c_str(), b.onednn.c_str(), b.rates.matmul_gflops, b.rates.conv_gflops, b.rates.deconv_gflops));
  if (b.precision == Precision::bfloat16) {
    lines.push_back(
        format("Precision: bfloat16 backbones (infer.precision); measured %.1f GFLOP/s 3x3 convolution in bfloat16, "
               "the rate the share column refers to",
               b.rates.conv_bf16_gflops));
  }
  return lines;
}

}  // namespace

SpeedBench measure_speed_bench(const Config& config) {
  const c10::Device device = apply_runtime(config.runtime);
  ModelSet models = build_model_set(config, device);
  const ComplexityReport report = measure_complexity(config);
  SpeedBench b;
  b.device = device.str();
  b.threads = current_threads();
  b.input_size = config.data.input_size;
  b.precision = config.infer.precision;
  b.speed_frames = config.eval.speed_frames;
  b.warmup_frames = config.eval.warmup_frames;
  b.rows = measure_rows(config, device, models, report, 1);
  // dkd_eval steps eval.batch_videos videos together: at that batch the fixed cost of
  // each small operator is shared, so DKD's ratio to the initializer changes.
  b.streams = config.eval.batch_videos;
  if (b.streams > 1) b.stream_rows = measure_rows(config, device, models, report, b.streams);
  // What this machine can do, measured now: a model's achieved rate as a share of it
  // says whether its time is arithmetic or overhead.
  b.blas = loaded_blas();
  b.onednn = onednn_state();
  b.rates = measure_machine_rates(device);
  return b;
}

std::vector<Table> speed_bench_tables(const SpeedBench& b) {
  std::vector<Table> tables;
  tables.push_back(speed_table(
      format("Speed on %s, %d thread(s), input %dx%d, batch 1, median of %d frames after %d "
             "warm-up",
             b.device.c_str(), b.threads, b.input_size.at(0), b.input_size.at(1), b.speed_frames, b.warmup_frames),
      b.rows, conv_rate(b)));
  if (!b.stream_rows.empty()) {
    const auto n = static_cast<long long>(b.streams);
    tables.push_back(speed_table(format("Many videos at once: %lld videos stepping together (eval.batch_videos, as "
                                        "dkd_eval evaluates), one batch per time step; ms per frame of one video "
                                        "(batch time / %lld)",
                                        n, n),
                                 b.stream_rows, conv_rate(b)));
  }
  return tables;
}

std::string format_speed_bench(const SpeedBench& bench, bool markdown) {
  std::string out;
  for (const auto& line : machine_lines(bench)) out += line + (markdown ? "\n\n" : "\n");
  const std::vector<Table> tables = speed_bench_tables(bench);
  for (std::size_t i = 0; i < tables.size(); ++i) {
    if (i > 0) out += "\n";
    out += markdown ? table_to_markdown(tables[i]) : table_to_text(tables[i]);
  }
  return out;
}

nlohmann::json speed_bench_to_json(const SpeedBench& b) {
  nlohmann::json j;
  j["device"] = b.device;
  j["threads"] = b.threads;
  j["input_size"] = b.input_size;
  j["blas"] = {{"name", b.blas.name}, {"library", b.blas.library}};
  j["onednn"] = b.onednn;
  j["machine_gflops"] = {{"matmul", b.rates.matmul_gflops},
                         {"conv3x3", b.rates.conv_gflops},
                         {"deconv4x4", b.rates.deconv_gflops},
                         {"conv3x3_bf16", b.rates.conv_bf16_gflops}};
  j["precision"] = name_of(b.precision);
  const std::vector<Table> tables = speed_bench_tables(b);
  j["rows"] = table_to_json(tables.at(0));
  if (tables.size() > 1) {
    j["streams"]["rows"] = table_to_json(tables.at(1));
    j["streams"]["count"] = b.streams;
  }
  return j;
}

}  // namespace dkd
