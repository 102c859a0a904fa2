#include "dkd/infer/bench.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "dkd/models/packed_conv.h"

#include "dkd/eval/complexity.h"

#include "dkd/models/blazepose.h"

#include <cstdio>
#include <functional>
#include <memory>
#include <iostream>

#include <spdlog/spdlog.h>

#include "dkd/infer/frame_source.h"
#include "dkd/infer/pose_tracker.h"
#include "dkd/models/factory.h"
#include "dkd/util/bench_timer.h"
#include "dkd/util/error.h"
#include "dkd/util/op_profile.h"
#include "dkd/util/runtime.h"

namespace dkd {

const BenchRow& BenchResult::row(const std::string& name, bool folded) const {
  for (const auto& r : rows) {
    if (r.name == name && r.folded == folded) return r;
  }
  throw Error("bench: no row " + name);
}

namespace {

BenchRow summarize(const std::string& name, bool folded, const Timings& t) {
  BenchRow row;
  row.name = name;
  row.folded = folded;
  row.mean_ms = t.mean();
  row.median_ms = t.median();
  return row;
}

cv::Mat bench_frame(const BenchOptions& options) {
  cv::Mat frame;
  if (!options.input.empty()) {
    auto source = open_frame_source(options.input);
    source->next(frame);
  } else {
    frame = cv::Mat(480, 640, CV_8UC3);
    cv::randu(frame, 0, 255);
  }
  return frame;
}

Box whole_frame(const cv::Mat& frame) {
  return {0.f, 0.f, static_cast<float>(frame.cols), static_cast<float>(frame.rows)};
}

/// A tracker that keeps its crop still (timing, not tracking), with or without BN folding.
std::unique_ptr<PoseTracker> bench_pose_tracker(const Config& config, const BenchOptions& options, bool fold) {
  Config c = config;
  c.infer.fold_bn = fold;
  c.infer.reinit_every = 0;
  c.infer.reinit_confidence = 0.0;
  c.infer.box_smoothing = 0.99;
  if (!options.checkpoint.empty()) return std::make_unique<PoseTracker>(c, options.checkpoint);
  c.model.initializer.pretrained.clear();
  c.model.encoder.pretrained.clear();
  torch::manual_seed(config.runtime.seed);
  return std::make_unique<PoseTracker>(c, make_dkd_model(c));
}

}  // namespace

std::string profile_tracker(const Config& config, const BenchOptions& options) {
  const cv::Mat frame = bench_frame(options);
  const Box box = whole_frame(frame);
  auto tracker = bench_pose_tracker(config, options, /*fold=*/true);
  tracker->start(frame, box);
  const int runs = std::max(1, options.frames);
  const OpProfile track = profile_ops([&] { tracker->track(frame); }, runs, options.warmup);
  const OpProfile per_frame = profile_ops([&] { tracker->estimate_per_frame(frame, box); }, runs, options.warmup);
  return format_op_profile("DKD track (one later frame)", track) + "\n" +
         format_op_profile("initializer on every frame", per_frame);
}

BenchResult bench_tracker(const Config& config, const BenchOptions& options) {
  if (options.frames < 1) throw UsageError("--bench-frames must be at least 1");
  BenchResult result;
  result.device = config.runtime.device;
  result.threads = current_threads();
  result.input_size = config.data.input_size;
  result.random_weights = options.checkpoint.empty();
  result.frames = options.frames;

  const cv::Mat frame = bench_frame(options);
  const Box box = whole_frame(frame);

  // Both trackers exist at once and the four rows are timed round-robin, so
  // any change in machine load during the run affects every row alike.
  std::unique_ptr<PoseTracker> trackers[2];
  for (int fold = 0; fold < 2; ++fold) {
    trackers[fold] = bench_pose_tracker(config, options, fold == 1);
    trackers[fold]->start(frame, box);
  }
  // Decoding copies the peaks to the CPU, so CUDA work is finished inside each timed call.
  const std::vector<Timings> t =
      time_round_robin(options.warmup, options.frames,
                       {[&] { trackers[0]->track(frame); }, [&] { trackers[0]->estimate_per_frame(frame, box); },
                        [&] { trackers[1]->track(frame); }, [&] { trackers[1]->estimate_per_frame(frame, box); }});
  for (int fold = 0; fold < 2; ++fold) {
    result.rows.push_back(summarize("dkd_track", fold == 1, t[2 * fold]));
    result.rows.push_back(summarize("initializer", fold == 1, t[2 * fold + 1]));
  }
  return result;
}

std::string format_bench(const BenchResult& r) {
  char line[256];
  std::string out;
  std::snprintf(line, sizeof(line),
                "ms per frame (median of %d; crop + network + decode), device %s, %d threads, input %dx%d, %s\n\n",
                r.frames, r.device.c_str(), r.threads, r.input_size.at(0), r.input_size.at(1),
                r.random_weights ? "random weights" : "checkpoint weights");
  out += line;
  out += "| | BN unfolded | BN folded | folding gain |\n|---|---:|---:|---:|\n";
  auto add = [&](const char* label, const std::string& name) {
    const double a = r.row(name, false).median_ms, b = r.row(name, true).median_ms;
    std::snprintf(line, sizeof(line), "| %s | %.2f | %.2f | %.2fx |\n", label, a, b, a / b);
    out += line;
  };
  add("DKD track (encoder + distilled kernels)", "dkd_track");
  add("initializer on every frame (per-frame network)", "initializer");
  const double su = r.row("initializer", false).median_ms / r.row("dkd_track", false).median_ms;
  const double sf = r.row("initializer", true).median_ms / r.row("dkd_track", true).median_ms;
  std::snprintf(line, sizeof(line), "| speed-up of track over the initializer | %.2fx | %.2fx | |\n", su, sf);
  out += line;
  return out;
}

int run_infer_bench(const Config& config, const BenchOptions& options) {
  if (options.checkpoint.empty()) spdlog::info("--bench without --checkpoint: random weights (speed only)");
  const BenchResult result = bench_tracker(config, options);
  std::cout << format_bench(result) << std::flush;
  if (options.profile) std::cout << "\n" << profile_tracker(config, options) << std::flush;
  return 0;
}

int run_blazepose_bench(const Config& config, const BenchOptions& options) {
  const std::vector<BlazePoseSize> sizes{BlazePoseSize::lite, BlazePoseSize::full, BlazePoseSize::heavy};
  const c10::Device device = config.runtime.device;
  std::vector<BlazePose> nets;
  std::vector<MacCount> macs;
  std::vector<int64_t> params;
  // A fixed crop (the golden input A of tests/test_tflite.cpp); speed does not depend on it.
  torch::Tensor input = torch::empty({1, 256, 256, 3});
  {
    auto a = input.accessor<float, 4>();
    for (int h = 0; h < 256; ++h)
      for (int w = 0; w < 256; ++w)
        for (int c = 0; c < 3; ++c)
          a[0][h][w][c] = static_cast<float>(0.5 + 0.45 * std::sin(0.031 * h * (c + 1) + 0.017 * w * (3 - c) + c));
  }
  input = input.permute({0, 3, 1, 2}).contiguous().to(device);
  for (const auto size : sizes) {
    nets.push_back(load_blazepose(size));
    nets.back()->eval();
    macs.push_back(count_macs([&] { nets.back()->forward(input.cpu()); }));
    params.push_back(count_parameters(*nets.back()));
    nets.back()->to(device);
  }
  std::vector<std::function<void()>> runs;
  for (auto& net : nets) {
    runs.push_back([&net, &input] {
      const auto out = net->forward(input);
      (void)out.landmarks.to(torch::kCPU);  // wait for the device
    });
  }
  std::vector<Timings> ms;
  {
    torch::InferenceMode guard;
    ms = time_round_robin(options.warmup, options.frames, runs);
  }
  const bool bf16 = device.is_cpu() && packed_bfloat16_supported();
  std::printf(
      "BlazePose imported into LibTorch: one 256x256 crop, batch 1, device %s, %d threads, median of %d runs\n\n",
      device.str().c_str(), torch::get_num_threads(), options.frames);
  std::printf("| network | GMACs | params (M) | ms per crop, float | ms per crop, bfloat16 |\n|---|---|---|---|---|\n");
  nlohmann::json rows = nlohmann::json::array();
  for (size_t k = 0; k < sizes.size(); ++k) {
    const double median = ms[k].median();
    std::printf("| %s | %.3f | %.2f | %.2f | %s |\n", blazepose_name(sizes[k]).c_str(), macs[k].total() * 1e-9,
                params[k] * 1e-6, median,
                bf16 ? "not implemented for imported networks" : "not run: no bfloat16 convolutions on this CPU");
    rows.push_back({{"network", blazepose_name(sizes[k])},
                    {"gmacs", macs[k].total() * 1e-9},
                    {"params", params[k]},
                    {"ms_per_crop_float_median", median},
                    {"ms_per_crop_float_min", ms[k].min()}});
  }
  const nlohmann::json line{{"blazepose_bench", rows},
                            {"device", device.str()},
                            {"threads", torch::get_num_threads()},
                            {"runs", options.frames}};
  std::printf("\n%s\n", line.dump().c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace dkd
