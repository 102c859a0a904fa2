#include "dkd/eval/complexity.h"

#include <cstring>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <ATen/record_function.h>

#include "dkd/eval/numbers.h"
#include "dkd/models/factory.h"
#include "dkd/util/error.h"
#include "dkd/util/runtime.h"

namespace dkd {
namespace {

thread_local MacRecorder* active_recorder = nullptr;
thread_local int conv_depth = 0;

int64_t product(torch::IntArrayRef sizes, size_t from) {
  int64_t p = 1;
  for (size_t i = from; i < sizes.size(); ++i) p *= sizes[i];
  return p;
}

bool is_convolution(const char* name) {
  return std::strncmp(name, "aten::", 6) == 0 && std::strstr(name, "conv") != nullptr;
}

/// What the start callback of an outermost counted operator saw.
struct ConvContext : at::ObserverContext {
  bool outermost = false;
  bool matrix = false;  // linear / matrix product (else a convolution)
  bool transposed = false;
  int64_t input_numel = 0;
  int64_t per_output_macs = 0;  // weight.size(1) * kh * kw
};

/// Matrix products as layers use them: linear (1.13's F::linear calls addmm or
/// matmul directly for 2-D inputs), and the products they are built from.
/// Returns the contracted size K (MACs = output.numel() * K), or -1 when `name`
/// is not such an operator.
int64_t matrix_contraction(const char* name, c10::ArrayRef<const c10::IValue> inputs) {
  auto size = [&inputs](size_t i, int64_t dim) -> int64_t {
    if (inputs.size() <= i || !inputs[i].isTensor()) return 0;
    const auto& t = inputs[i].toTensor();
    return t.dim() == 0 ? 0 : t.size(dim < 0 ? t.dim() + dim : dim);
  };
  if (std::strcmp(name, "aten::linear") == 0) return size(1, 1);
  if (std::strcmp(name, "aten::matmul") == 0 || std::strcmp(name, "aten::mm") == 0 ||
      std::strcmp(name, "aten::bmm") == 0) {
    return size(0, -1);
  }
  if (std::strcmp(name, "aten::addmm") == 0 || std::strcmp(name, "aten::baddbmm") == 0) {
    return size(1, -1);
  }
  return -1;
}

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  if (active_recorder == nullptr) return nullptr;
  const char* name = fn.name();
  const bool conv = is_convolution(name);
  int64_t contraction = -1;
  if (!conv) {
    contraction = matrix_contraction(name, conv_depth == 0 ? fn.inputs() : c10::ArrayRef<const c10::IValue>());
    if (contraction < 0) return nullptr;
  }
  auto ctx = std::make_unique<ConvContext>();
  ctx->outermost = conv_depth == 0;
  ++conv_depth;
  if (!ctx->outermost) return ctx;
  if (!conv) {
    ctx->matrix = true;
    ctx->per_output_macs = contraction;
    return ctx;
  }
  const auto inputs = fn.inputs();
  if (inputs.size() < 2 || !inputs[0].isTensor() || !inputs[1].isTensor()) {
    ctx->outermost = false;
    return ctx;
  }
  const auto weight = inputs[1].toTensor().sizes();
  ctx->input_numel = inputs[0].toTensor().numel();
  ctx->per_output_macs = product(weight, 1);
  // aten::convolution / _convolution carry `transposed` as their 7th argument;
  // conv_transpose* say it in their name.
  ctx->transposed = std::strstr(name, "transpose") != nullptr;
  if (!ctx->transposed && inputs.size() >= 7 && inputs[6].isBool() &&
      (std::strcmp(name, "aten::convolution") == 0 || std::strcmp(name, "aten::_convolution") == 0)) {
    ctx->transposed = inputs[6].toBool();
  }
  return ctx;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext* base) {
  auto* ctx = static_cast<ConvContext*>(base);
  if (ctx == nullptr) return;
  --conv_depth;
  if (!ctx->outermost || active_recorder == nullptr) return;
  auto& count = active_recorder->mutable_count();
  if (ctx->transposed) {
    // Transposed convolution: every input pixel scatters (Cout/groups)*k*k products.
    count.transposed_convolution += ctx->input_numel * ctx->per_output_macs;
    return;
  }
  const auto& outputs = fn.outputs();
  if (outputs.empty() || !outputs[0].isTensor()) return;
  const int64_t macs = outputs[0].toTensor().numel() * ctx->per_output_macs;
  (ctx->matrix ? count.linear : count.convolution) += macs;
}

std::string depth_name(const BackboneConfig& b) {
  if (b.network != NetworkKind::resnet)
    return std::string(name_of(b.network)) + " (imported; landmarks " + name_of(b.landmark_heatmaps) + " as heatmaps)";
  std::string s = "ResNet-" + std::to_string(b.depth);
  if (b.width != 1.0) s += " x" + fixed(b.width, b.width * 4 == int(b.width * 4) ? 2 : 4);
  if (b.deconv_layers > 0) {
    s += " + " + std::to_string(b.deconv_layers) + "x" + std::to_string(b.deconv_filters) + " deconv" +
         std::to_string(b.deconv_kernel);
  }
  return s;
}

}  // namespace

MacRecorder::MacRecorder() {
  if (active_recorder != nullptr) throw Error("MacRecorder: one recorder per thread at a time");
  active_recorder = this;
  conv_depth = 0;
  handle_ =
      at::addThreadLocalCallback(at::RecordFunctionCallback(&on_start, &on_end).needsInputs(true).needsOutputs(true));
}

MacRecorder::~MacRecorder() {
  at::removeCallback(handle_);
  active_recorder = nullptr;
  conv_depth = 0;
}

MacCount count_macs(const std::function<void()>& fn) {
  torch::NoGradGuard no_grad;
  MacRecorder recorder;
  fn();
  return recorder.count();
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters(true)) n += p.numel();
  return n;
}

const ComponentComplexity& ComplexityReport::component(const std::string& name) const {
  for (const auto* list : {&components, &training_only, &baselines}) {
    for (const auto& c : *list) {
      if (c.name == name) return c;
    }
  }
  throw Error("complexity report has no component '" + name + "'");
}

ComplexityReport measure_complexity(const Config& config_in) {
  Config config = config_in;
  // Counting needs shapes, not weights: never read pretrained files here.
  config.model.initializer.pretrained.clear();
  config.model.encoder.pretrained.clear();
  // The count is of the network, not of how a run computes it: a sub-pixel head is the
  // same deconvolution, whose MACs papers count from its input (Cin*Hin*Win*Cout*k^2),
  // while its 2x2 convolutions also run over a one-pixel border.
  config.model.initializer.deconv_impl = DeconvImpl::transposed;
  config.model.encoder.deconv_impl = DeconvImpl::transposed;
  const auto hm = heatmap_size(config);
  ComplexityReport r;
  r.input_size = {config.data.input_size[0], config.data.input_size[1]};
  r.num_joints = config.model.num_joints;
  r.video_length = config.eval.video_length;
  r.clip_length = config.data.clip_length;

  torch::NoGradGuard no_grad;
  const auto frame = torch::zeros({1, 3, r.input_size[1], r.input_size[0]});
  auto dkd = make_dkd_model(config);
  dkd->eval();

  torch::Tensor heatmaps, features, kernels;
  const int64_t init_macs = count_macs([&] { heatmaps = dkd->initializer->forward(frame); }).total();
  const int64_t enc_macs = count_macs([&] { features = dkd->encoder->forward(frame); }).total();
  const int64_t dist_macs = count_macs([&] { kernels = dkd->distillator->forward(features, heatmaps); }).total();
  const int64_t match_macs = count_macs([&] { dkd->matching->forward(kernels, features); }).total();
  // The location prior's fusion head (its bilinear warp has no multiply-adds to count).
  const int64_t prior_macs =
      dkd->prior ? count_macs([&] { dkd->prior->forward(heatmaps, heatmaps, features); }).total() : 0;
  const auto& m = config.model;
  r.components = {
      {"initializer", count_parameters(*dkd->initializer), init_macs,
       depth_name(m.initializer) + (m.initializer.network == NetworkKind::resnet ? " + 1x1 head" : "") +
           "; frame 1 only"},
      {"encoder", count_parameters(*dkd->encoder), enc_macs, depth_name(m.encoder) + "; every frame"},
      {"distillator", count_parameters(*dkd->distillator), dist_macs,
       std::to_string(m.distillator.channels) + " ch, " + std::to_string(dkd->distillator->num_stages()) +
           " pool stages, k=" + std::to_string(m.distillator.kernel_size)},
      {"matching", count_parameters(*dkd->matching), match_macs,
       std::string(name_of(m.distillator.matching)) + " dynamic convolution"},
  };
  if (dkd->prior) {
    r.components.push_back(
        {"prior", count_parameters(*dkd->prior), prior_macs,
         "warped H(t-1) fused with the response, " + std::string(name_of(m.distillator.prior_fusion)) + ", " +
             std::to_string(m.distillator.prior_channels) + " ch" + (m.distillator.prior_gate ? ", gated" : "") +
             (m.distillator.prior_features ? ", sees F(t)" : "")});
  }
  r.macs_per_frame = enc_macs + dist_macs + match_macs + prior_macs;
  r.macs_first_frame = init_macs + enc_macs;
  const int64_t L = std::max(1, r.video_length);
  r.macs_per_video_average =
      (static_cast<double>(r.macs_first_frame) + static_cast<double>(L - 1) * r.macs_per_frame) / L;
  for (const auto& c : r.components) r.params_total += c.params;

  auto discriminator = make_discriminator(config);
  discriminator->eval();
  const auto clip = torch::zeros({1, config.data.clip_length, m.num_joints, hm[0], hm[1]});
  const int64_t disc_macs = count_macs([&] { discriminator->forward(clip); }).total();
  r.training_only = {{"discriminator", count_parameters(*discriminator), disc_macs,
                      "training only; one clip of " + std::to_string(config.data.clip_length) + " frames"}};

  // The per-frame baselines, named as their training stages: "initializer" is the
  // DKD initializer itself on every frame; "baseline" is the encoder with a 1x1 head.
  PerFrameModel small(m.encoder, m.num_joints, "model.encoder");
  small->eval();
  const int64_t small_macs = count_macs([&] { small->forward(frame); }).total();
  r.baselines = {
      {"initializer", r.components[0].params, init_macs, "initializer config on every frame"},
      {"baseline", count_parameters(*small), small_macs, "encoder config + 1x1 head on every frame"},
  };
  return r;
}

std::string format_complexity_table(const ComplexityReport& r) {
  std::ostringstream s;
  s << kGflopsLabel << "; 2x = multiplies and adds counted apart\n";
  s << "input " << r.input_size[0] << "x" << r.input_size[1] << ", J = " << r.num_joints << ", batch 1\n\n";
  auto row = [&s](const std::string& name, double params, double macs, const std::string& note) {
    s << std::left << std::setw(34) << name << std::right << std::setw(11)
      << (params < 0 ? std::string("") : fixed(params * 1e-6, 3)) << std::setw(10) << fixed(macs * 1e-9, 3)
      << std::setw(10) << fixed(2e-9 * macs, 3) << "   " << note << "\n";
  };
  s << std::left << std::setw(34) << "component" << std::right << std::setw(11) << "params (M)" << std::setw(10)
    << "GMACs" << std::setw(10) << "2x"
    << "\n";
  for (const auto& c : r.components) row(c.name, c.params, c.macs, c.note);
  row("DKD per frame (t >= 2)", -1, r.macs_per_frame,
      r.components.size() > 4 ? "encoder + distillator + matching + prior" : "encoder + distillator + matching");
  row("DKD first frame", -1, r.macs_first_frame, "initializer + encoder");
  row("DKD per-video average", -1, r.macs_per_video_average,
      std::to_string(r.video_length) + " frames, initializer once");
  row("DKD total", r.params_total, r.macs_per_frame, "params of all components");
  s << "\ntraining only\n";
  for (const auto& c : r.training_only) row(c.name, c.params, c.macs, c.note);
  s << "\nper-frame baselines\n";
  for (const auto& c : r.baselines) row(c.name, c.params, c.macs, c.note);
  if (r.macs_per_frame > 0) {
    const auto& initializer = r.baselines[0];
    s << "\ninitializer / DKD per frame = " << fixed(double(initializer.macs) / r.macs_per_frame, 2)
      << "x; initializer / DKD per-video average = " << fixed(double(initializer.macs) / r.macs_per_video_average, 2)
      << "x\n";
  }
  return s.str();
}

nlohmann::json complexity_to_json(const ComplexityReport& r) {
  using nlohmann::json;
  auto section = [](const std::vector<ComponentComplexity>& list) {
    json j = json::object();
    for (const auto& c : list) j[c.name] = {{"params", c.params}, {"gmacs", c.gmacs()}, {"note", c.note}};
    return j;
  };
  json j;
  j["unit"] = kGflopsLabel;
  j["input_size"] = {r.input_size[0], r.input_size[1]};
  j["num_joints"] = r.num_joints;
  j["components"] = section(r.components);
  j["gmacs_per_frame"] = r.macs_per_frame * 1e-9;
  j["gmacs_first_frame"] = r.macs_first_frame * 1e-9;
  j["gmacs_per_video_average"] = r.macs_per_video_average * 1e-9;
  j["video_length"] = r.video_length;
  j["params_total"] = r.params_total;
  j["params"] = r.params_total;
  j["training_only"] = section(r.training_only);
  j["baselines"] = section(r.baselines);
  return j;
}

int run_flops_command(const Config& config, const std::string& json_path) {
  const ComplexityReport report = measure_complexity(config);
  std::cout << format_complexity_table(report) << std::flush;
  if (!json_path.empty()) {
    write_file_atomic(json_path, complexity_to_json(report).dump(2) + "\n");
  }
  return 0;
}

}  // namespace dkd
