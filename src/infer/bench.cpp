#include "dkd/infer/bench.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "dkd/models/packed_conv.h"

#include "dkd/eval/complexity.h"

#include "dkd/models/blazepose.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <iostream>

#include <spdlog/spdlog.h>

#include "dkd/data/image_io.h"
#include "dkd/data/transforms.h"
#include "dkd/data/clip_dataset.h"
#include "dkd/data/heatmap.h"
#include "dkd/infer/frame_source.h"
#include "dkd/models/dkd_stream.h"
#include "dkd/models/weights.h"
#include "dkd/infer/pose_tracker.h"
#include "dkd/models/factory.h"
#include "dkd/util/bench_timer.h"
#include "dkd/util/blas.h"
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
  c.infer.box_network_smoothing = 0.99;
  if (!options.checkpoint.empty()) return std::make_unique<PoseTracker>(c, options.checkpoint);
  c.model.initializer.pretrained.clear();
  c.model.encoder.pretrained.clear();
  torch::manual_seed(config.runtime.seed);
  return std::make_unique<PoseTracker>(c, make_dkd_model(c));
}

/// `streams` people in one frame tracked together, as a multi-person tracker
/// steps them: one crop each (warp + normalise into one batch), one DKD step
/// of the batch, one decode, keypoints back to image pixels.
class BatchedSteps {
 public:
  BatchedSteps(const Config& config, DkdModel model, const cv::Mat& frame, const Box& box, int streams)
      : config_(config), frame_(frame), stream_(model) {
    crop_ = tracker_crop(config, box);
    input_ = torch::zeros({streams, 3, crop_.out_h, crop_.out_w});
    crops_ = model->prior ? crop_matrices(std::vector<CropTransform>(static_cast<std::size_t>(streams),
                                                                     crop_.downscaled(kHeatmapStride)))
                          : torch::Tensor();
    torch::InferenceMode guard;
    fill();
    stream_.start(input_, crops_);
  }
  std::size_t step() {
    torch::InferenceMode guard;
    fill();
    const auto heatmaps = stream_.next(input_, crops_, config_.infer, static_cast<std::vector<bool>*>(nullptr));
    const HeatmapPeaks peaks = decode_heatmaps(heatmaps, config_.eval.decode, config_.data.heatmap_sigma);
    const auto coords = peaks.coords.to(torch::kCPU).contiguous();
    const float* c = coords.data_ptr<float>();
    const CropTransform ht = crop_.downscaled(kHeatmapStride);
    keypoints_.resize(static_cast<std::size_t>(coords.numel() / 2));
    for (std::size_t i = 0; i < keypoints_.size(); ++i) keypoints_[i] = heatmap_to_image({c[2 * i], c[2 * i + 1]}, ht);
    return keypoints_.size();
  }

 private:
  void fill() {
    const int64_t plane = input_[0].numel();
    for (int64_t s = 0; s < input_.size(0); ++s) {
      warp_image(frame_, crop_, patch_);
      image_to_chw(patch_, input_.data_ptr<float>() + s * plane);
    }
  }
  const Config& config_;
  const cv::Mat& frame_;
  DkdStream stream_;
  CropTransform crop_;
  torch::Tensor input_, crops_;
  cv::Mat patch_;
  std::vector<Point2> keypoints_;
};

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

void export_tracker_step(const Config& config, const BenchOptions& options, const std::string& dir, int steps) {
  if (steps < 1) throw UsageError("export_tracker_step: steps must be at least 1");
  std::filesystem::create_directories(dir);
  const cv::Mat frame = bench_frame(options);
  const Box box = whole_frame(frame);
  auto tracker = bench_pose_tracker(config, options, /*fold=*/false);
  save_state_dict(*tracker->model(), dir + "/model.pt");
  write_image_atomic(dir + "/frame.png", frame);
  const int w = config.data.input_size.at(0), h = config.data.input_size.at(1);
  nlohmann::json frames = nlohmann::json::array();
  for (int i = 0; i <= steps; ++i) {
    const TrackResult r = i == 0 ? tracker->start(frame, box) : tracker->track(frame);
    const cv::Mat m = tracker_crop(config, r.box).to_mat();  // the crop this frame was taken with
    nlohmann::json crop = nlohmann::json::array();
    for (int row = 0; row < 2; ++row)
      for (int col = 0; col < 3; ++col) crop.push_back(m.at<double>(row, col));
    nlohmann::json keypoints = nlohmann::json::array();
    for (const auto& p : r.keypoints) keypoints.push_back({p.x, p.y});
    frames.push_back({{"crop", crop}, {"keypoints", keypoints}, {"mean_confidence", r.mean_confidence}});
  }
  const auto backbone = [](const BackboneConfig& b) {
    return nlohmann::json{{"depth", b.depth},
                          {"width", b.width},
                          {"stages", b.stages},
                          {"deconv_layers", b.deconv_layers},
                          {"deconv_filters", b.deconv_filters},
                          {"deconv_kernel", b.deconv_kernel},
                          {"subpixel", b.deconv_impl == DeconvImpl::subpixel}};
  };
  const auto& d = config.model.distillator;
  const nlohmann::json out{{"input_size", {w, h}},
                           {"num_joints", config.model.num_joints},
                           {"heatmap_sigma", config.data.heatmap_sigma},
                           {"decode", name_of(config.eval.decode)},
                           {"initializer", backbone(config.model.initializer)},
                           {"encoder", backbone(config.model.encoder)},
                           {"distillator",
                            {{"channels", d.channels},
                             {"kernel_size", d.kernel_size},
                             {"matching", name_of(d.matching)},
                             {"kernels", name_of(d.kernels)},
                             {"norm", name_of(d.norm)},
                             {"pool_first", d.pool_first},
                             {"static_head", d.static_head},
                             {"normalize", d.normalize},
                             {"prior", name_of(d.prior)},
                             {"prior_fusion", name_of(d.prior_fusion)},
                             {"prior_channels", d.prior_channels},
                             {"prior_gate", d.prior_gate},
                             {"prior_features", d.prior_features}}},
                           {"frames", frames}};
  std::ofstream f(dir + "/step.json");
  f << out.dump(1) << "\n";
  if (!f) throw DataError(dir + "/step.json", "could not be written");
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
  std::unique_ptr<BatchedSteps> batched;
  if (options.streams > 1) {
    if (!trackers[1]->device().is_cpu())
      throw UsageError("--bench-streams: the batched row runs on the CPU only; set runtime.device: cpu");
    batched = std::make_unique<BatchedSteps>(trackers[1]->config(), trackers[1]->model(), frame, box, options.streams);
  }
  // Decoding copies the peaks to the CPU, so CUDA work is finished inside each timed call.
  std::vector<std::function<void()>> runs{
      [&] { trackers[0]->track(frame); }, [&] { trackers[0]->estimate_per_frame(frame, box); },
      [&] { trackers[1]->track(frame); }, [&] { trackers[1]->estimate_per_frame(frame, box); }};
  if (batched) runs.push_back([&] { batched->step(); });
  const std::vector<Timings> t = time_round_robin(options.warmup, options.frames, runs);
  for (int fold = 0; fold < 2; ++fold) {
    result.rows.push_back(summarize("dkd_track", fold == 1, t[2 * fold]));
    result.rows.push_back(summarize("initializer", fold == 1, t[2 * fold + 1]));
  }
  // Multiply-adds per call (counted once, outside the timing) and the machine's 3x3
  // convolution rate: what share of it each row achieves.
  result.gmacs_track = count_macs([&] { trackers[1]->track(frame); }).total() * 1e-9;
  result.gmacs_initializer = count_macs([&] { trackers[1]->estimate_per_frame(frame, box); }).total() * 1e-9;
  result.conv_gflops = measure_machine_rates(trackers[1]->device()).conv_gflops;
  if (batched) {
    result.streams = options.streams;
    result.rows.push_back(summarize("dkd_track_streams", true, t[4]));
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
  if (r.conv_gflops > 0 && r.gmacs_track > 0) {
    const auto rate = [&](double gmacs, const std::string& name) {
      return 2.0 * gmacs / (r.row(name, true).median_ms * 1e-3);
    };
    const double track = rate(r.gmacs_track, "dkd_track"), init = rate(r.gmacs_initializer, "initializer");
    std::snprintf(line, sizeof(line),
                  "\nGMACs per frame: DKD track %.4f, initializer %.4f (%.1fx fewer). Achieved (BN folded): DKD "
                  "%.1f GFLOP/s, initializer %.1f GFLOP/s; %.0f%% and %.0f%% of this machine's 3x3 convolution rate "
                  "(%.0f GFLOP/s).\n",
                  r.gmacs_track, r.gmacs_initializer, r.gmacs_initializer / r.gmacs_track, track, init,
                  100.0 * track / r.conv_gflops, 100.0 * init / r.conv_gflops, r.conv_gflops);
    out += line;
  }
  if (r.streams > 1) {
    const double ms = r.row("dkd_track_streams", true).median_ms;
    std::snprintf(line, sizeof(line), "| DKD track, %d people in one batch (per step; per person) | | %.2f; %.2f | |\n",
                  r.streams, ms, ms / r.streams);
    out += line;
  }
  return out;
}

int run_infer_bench(const Config& config, const BenchOptions& options) {
  if (options.checkpoint.empty()) spdlog::info("--bench without --checkpoint: random weights (speed only)");
  const BenchResult result = bench_tracker(config, options);
  std::cout << format_bench(result) << std::flush;
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : result.rows)
    rows.push_back({{"name", r.name}, {"bn_folded", r.folded}, {"median_ms", r.median_ms}, {"mean_ms", r.mean_ms}});
  const nlohmann::json line{{"infer_bench", rows},
                            {"device", result.device},
                            {"threads", result.threads},
                            {"input_size", result.input_size},
                            {"streams", result.streams},
                            {"frames", result.frames},
                            {"random_weights", result.random_weights},
                            {"gmacs_track", result.gmacs_track},
                            {"gmacs_initializer", result.gmacs_initializer},
                            {"conv3x3_gflops", result.conv_gflops}};
  std::cout << "\n" << line.dump() << "\n" << std::flush;
  if (options.profile) std::cout << "\n" << profile_tracker(config, options) << std::flush;
  if (!options.export_dir.empty()) {
    export_tracker_step(config, options, options.export_dir);
    spdlog::info("exported the model, the frame and the tracker's steps to {}", options.export_dir);
  }
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
  // Float and, where this CPU has oneDNN bfloat16 convolutions, bfloat16 runs of
  // each network, timed in the same rounds.
  const bool bf16 = device.is_cpu() && packed_bfloat16_supported();
  std::vector<std::function<void()>> runs;
  for (const Precision precision : {Precision::float32, Precision::bfloat16}) {
    if (precision == Precision::bfloat16 && !bf16) continue;
    for (auto& net : nets) {
      runs.push_back([&net, &input, precision] {
        net->network->set_precision(precision);
        const auto out = net->forward(input);
        (void)out.landmarks.to(torch::kCPU);  // wait for the device
      });
    }
  }
  std::vector<Timings> ms;
  {
    torch::InferenceMode guard;
    ms = time_round_robin(options.warmup, options.frames, runs);
  }
  std::printf(
      "BlazePose imported into LibTorch: one 256x256 crop, batch 1, device %s, %d threads, median of %d runs\n\n",
      device.str().c_str(), torch::get_num_threads(), options.frames);
  std::printf("| network | GMACs | params (M) | ms per crop, float | ms per crop, bfloat16 |\n|---|---|---|---|---|\n");
  nlohmann::json rows = nlohmann::json::array();
  for (size_t k = 0; k < sizes.size(); ++k) {
    const double median = ms[k].median();
    const std::string bf16_ms =
        bf16 ? fmt::format("{:.2f}", ms[sizes.size() + k].median()) : "not run: no bfloat16 convolutions on this CPU";
    std::printf("| %s | %.3f | %.2f | %.2f | %s |\n", blazepose_name(sizes[k]).c_str(), macs[k].total() * 1e-9,
                params[k] * 1e-6, median, bf16_ms.c_str());
    nlohmann::json row{{"network", blazepose_name(sizes[k])},
                       {"gmacs", macs[k].total() * 1e-9},
                       {"params", params[k]},
                       {"ms_per_crop_float_median", median},
                       {"ms_per_crop_float_min", ms[k].min()}};
    if (bf16) {
      row["ms_per_crop_bfloat16_median"] = ms[sizes.size() + k].median();
      row["ms_per_crop_bfloat16_min"] = ms[sizes.size() + k].min();
    }
    rows.push_back(row);
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
