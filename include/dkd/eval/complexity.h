#pragma once
// Model complexity as pose papers report it: multiply-accumulates (MACs) of
// convolutions, transposed convolutions and linear layers, called "GFLOPs" there
// (1 multiply-add = 1 FLOP); 2x that is the count with multiplies and adds apart.
// Batch norm, activations, pooling and additions are not counted (as the papers).
//
// Counting is exact and analytic per operator: a MacRecorder observes the ATen
// operators of one forward pass (at::RecordFunction thread-local callbacks; the
// C++ frontend has no module hooks) and applies
//   convolution:            output.numel() * (Cin/groups) * kh * kw  (N*Cout*Hout*Wout outputs)
//   transposed convolution: input.numel() * (Cout/groups) * kh * kw   (on its INPUT size)
//   linear / matrix product: output.numel() * K (K = contracted size)
// The distillator's dynamic kernel-matching convolution is a (grouped) convolution
// and is counted by the same rule. Nested ATen calls (conv2d -> convolution ->
// _convolution -> backend; linear -> addmm) are counted once, at the outermost.
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "dkd/config/config.h"

namespace dkd {

/// The label every complexity table carries.
inline constexpr const char* kGflopsLabel = "GFLOPs as pose papers count them (1 multiply-add = 1 FLOP)";

struct MacCount {
  int64_t convolution = 0;
  int64_t transposed_convolution = 0;
  int64_t linear = 0;
  int64_t total() const { return convolution + transposed_convolution + linear; }
};

/// Counts MACs of the operators run on this thread while it is alive. One
/// recorder per thread at a time.
class MacRecorder {
 public:
  MacRecorder();
  ~MacRecorder();
  MacRecorder(const MacRecorder&) = delete;
  MacRecorder& operator=(const MacRecorder&) = delete;
  const MacCount& count() const { return count_; }
  MacCount& mutable_count() { return count_; }

 private:
  MacCount count_;
  uint64_t handle_ = 0;
};

/// MACs of running `fn` once (with gradients disabled).
MacCount count_macs(const std::function<void()>& fn);

/// Parameters (trainable or not; buffers excluded) of a module.
int64_t count_parameters(const torch::nn::Module& module);

struct ComponentComplexity {
  std::string name;
  int64_t params = 0;
  int64_t macs = 0;
  std::string note;
  double gmacs() const { return macs * 1e-9; }
};

struct ComplexityReport {
  std::array<int64_t, 2> input_size{};  // [width, height]
  int64_t num_joints = 0;
  int video_length = 0;
  int clip_length = 0;
  /// DKD inference components: initializer, encoder, distillator, matching.
  std::vector<ComponentComplexity> components;
  /// Training only: discriminator (on one clip of clip_length frames).
  std::vector<ComponentComplexity> training_only;
  /// Per-frame baselines, named as their training stages: "initializer" (the
  /// initializer alone on every frame) and "baseline" (encoder + 1x1 head).
  std::vector<ComponentComplexity> baselines;
  /// Frames t >= 2: encoder + distillator + matching.
  int64_t macs_per_frame = 0;
  /// Frame 1: initializer + encoder (its features feed frame 2's distillator).
  int64_t macs_first_frame = 0;
  /// (first + (L-1) * per_frame) / L for L = eval.video_length.
  double macs_per_video_average = 0.0;
  /// Parameters of the DKD inference model (the four components).
  int64_t params_total = 0;

  const ComponentComplexity& component(const std::string& name) const;
};

/// Builds the configured networks (pretrained files are NOT loaded: counting needs
/// no weights) on the CPU and measures one forward pass of each component at
/// data.input_size with batch 1.
ComplexityReport measure_complexity(const Config& config);

/// Console table: params (M), GMACs and 2x GMACs per component, per frame,
/// first frame, per-video average, training-only parts and the per-frame baselines.
std::string format_complexity_table(const ComplexityReport& report);

/// {"unit", "input_size": [w, h], "components": {name: {"params", "gmacs"}},
///  "gmacs_per_frame", "gmacs_first_frame", "gmacs_per_video_average", "video_length",
///  "params_total", "params" (= params_total), "training_only": {...}, "baselines": {...}}
nlohmann::json complexity_to_json(const ComplexityReport& report);

/// dkd_eval --flops: prints the table to stdout; writes the JSON to `json_path`
/// when it is not empty. Returns the exit code (0).
int run_flops_command(const Config& config, const std::string& json_path);

}  // namespace dkd
