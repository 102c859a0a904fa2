#include "dkd/models/tflite_network.h"

#include <algorithm>
#include <limits>

#include "dkd/models/packed_conv.h"
#include "dkd/util/error.h"

namespace F = torch::nn::functional;

namespace dkd {

namespace {

std::vector<int64_t> shape_of(const TfliteTensor& t) { return std::vector<int64_t>(t.shape.begin(), t.shape.end()); }

std::string shape_text(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
  return out + "]";
}

/// TensorFlow SAME/VALID padding of one axis: {before, after, output size}.
std::array<int64_t, 3> axis_padding(bool same, int64_t in, int64_t k, int64_t stride, int64_t dilation) {
  const int64_t extent = (k - 1) * dilation + 1;
  if (!same) return {0, 0, in < extent ? 0 : (in - extent) / stride + 1};
  const int64_t out = (in + stride - 1) / stride;
  const int64_t total = std::max<int64_t>((out - 1) * stride + extent - in, 0);
  return {total / 2, total - total / 2, out};
}

torch::Tensor activate(torch::Tensor x, TfliteActivation a) {
  switch (a) {
    case TfliteActivation::none:
      return x;
    case TfliteActivation::relu:
      return x.relu_();
    case TfliteActivation::relu6:
      return x.clamp_(0.0, 6.0);
  }
  return x;
}

}  // namespace

TfliteNetworkImpl::TfliteNetworkImpl(const TfliteModel& model) : path_(model.path) {
  const auto fail = [&](const std::string& what) -> void { throw DataError(path_, "cannot import: " + what); };
  const size_t n = model.tensors.size();
  constants_.resize(n);
  nchw_.assign(n, false);

  if (model.inputs.size() != 1)
    fail("the graph has " + std::to_string(model.inputs.size()) + " inputs (one image expected)");
  input_id_ = model.inputs[0];
  const TfliteTensor& in = model.tensor(input_id_);
  if (in.shape.size() != 4 || in.type != TfliteType::float32)
    fail("the input '" + in.name + "' is not a float NHWC image");
  input_hwc_ = {in.shape[1], in.shape[2], in.shape[3]};
  nchw_[input_id_] = true;

  // Constants in TFLite layout: float data, and DEQUANTIZE of constant float16 data.
  std::vector<torch::Tensor> raw(n);
  const auto constant = [&](int32_t id) -> torch::Tensor {
    if (id < 0) return {};
    if (!raw[id].defined() && model.is_constant(id)) {
      const TfliteTensor& t = model.tensor(id);
      if (t.type == TfliteType::int32) {
        const auto v = model.ints(id);
        raw[id] = torch::tensor(std::vector<int64_t>(v.begin(), v.end()), torch::kLong).reshape(shape_of(t));
      } else {
        raw[id] = torch::tensor(model.floats(id), torch::kFloat).reshape(shape_of(t));
      }
    }
    return raw[id];
  };
  for (const TfliteOperator& op : model.operators) {
    if (op.kind == TfliteOpKind::dequantize) {
      const torch::Tensor c = constant(op.inputs[0]);
      if (!c.defined()) fail("DEQUANTIZE of a computed tensor ('" + model.tensor(op.inputs[0]).name + "')");
      raw[op.outputs[0]] = c.to(torch::kFloat);
    }
  }
  // A computed tensor must be produced before it is read (the file's order is the execution order).
  std::vector<bool> ready(n, false);
  ready[input_id_] = true;
  const auto require = [&](int32_t id, const TfliteOperator& op) {
    if (!ready[id] && !constant(id).defined()) {
      fail(std::string(tflite_op_name(op.kind)) + " reads '" + model.tensor(id).name + "' before it is computed");
    }
  };
  const auto keep_constant = [&](int32_t id, torch::Tensor value) {
    constants_[id] = register_buffer("const" + std::to_string(id), value.contiguous());
  };

  int convs = 0;
  for (size_t k = 0; k < model.operators.size(); ++k) {
    const TfliteOperator& op = model.operators[k];
    if (op.kind == TfliteOpKind::dequantize) continue;  // folded above
    const std::string where = std::string(tflite_op_name(op.kind)) + " (operator " + std::to_string(k) + ")";
    Step step;
    step.kind = op.kind;
    step.inputs = {op.inputs[0]};
    step.output = op.outputs[0];
    step.activation = op.activation;
    const TfliteTensor& x = model.tensor(op.inputs[0]);
    const TfliteTensor& y = model.tensor(op.outputs[0]);
    const std::vector<int64_t> xs = shape_of(x), ys = shape_of(y);
    require(op.inputs[0], op);

    switch (op.kind) {
      case TfliteOpKind::conv_2d:
      case TfliteOpKind::depthwise_conv_2d: {
        const bool depthwise = op.kind == TfliteOpKind::depthwise_conv_2d;
        const torch::Tensor w = constant(op.inputs[1]);
        const torch::Tensor b = op.inputs.size() > 2 ? constant(op.inputs[2]) : torch::Tensor();
        if (!w.defined() || w.dim() != 4) fail(where + ": the weights are not a constant 4-d tensor");
        if (xs.size() != 4 || ys.size() != 4) fail(where + ": input or output is not 4-d");
        if (op.inputs.size() > 2 && op.inputs[2] >= 0 && !b.defined()) fail(where + ": the bias is not constant");
        const int64_t cin = xs[3], kh = w.size(1), kw = w.size(2);
        const int64_t cout = depthwise ? w.size(3) : w.size(0);
        if (depthwise ? (w.size(0) != 1 || cout != cin * op.depth_multiplier) : w.size(3) != cin) {
          fail(where + ": weights " + shape_text(w.sizes().vec()) + " do not fit the input " + shape_text(xs));
        }
        if (b.defined() && b.numel() != cout)
          fail(where + ": bias of " + std::to_string(b.numel()) + " for " + std::to_string(cout));
        const auto ph = axis_padding(op.same_padding, xs[1], kh, op.stride_h, op.dilation_h);
        const auto pw = axis_padding(op.same_padding, xs[2], kw, op.stride_w, op.dilation_w);
        if (ys[1] != ph[2] || ys[2] != pw[2] || ys[3] != cout) {
          fail(where + ": output " + shape_text(ys) + " is not what the padding gives (" + std::to_string(ph[2]) + "x" +
               std::to_string(pw[2]) + "x" + std::to_string(cout) + ")");
        }
        const bool symmetric = ph[0] == ph[1] && pw[0] == pw[1];
        if (!symmetric) step.pad = {pw[0], pw[1], ph[0], ph[1]};
        auto options = torch::nn::Conv2dOptions(cin, cout, {kh, kw})
                           .stride({op.stride_h, op.stride_w})
                           .dilation({op.dilation_h, op.dilation_w})
                           .padding(symmetric ? std::vector<int64_t>{ph[0], pw[0]} : std::vector<int64_t>{0, 0})
                           .groups(depthwise ? cin : 1)
                           .bias(b.defined());
        step.conv = register_module("conv" + std::to_string(convs++), torch::nn::Conv2d(options));
        torch::NoGradGuard no_grad;
        // OHWI -> OIHW; depthwise 1HW(C*m) -> (C*m)1HW.
        step.conv->weight.copy_(depthwise ? w.permute({3, 0, 1, 2}) : w.permute({0, 3, 1, 2}));
        if (b.defined()) step.conv->bias.copy_(b.reshape({cout}));
        step.conv->weight.set_data(step.conv->weight.contiguous(torch::MemoryFormat::ChannelsLast));
        break;
      }
      case TfliteOpKind::max_pool_2d: {
        if (xs.size() != 4 || ys.size() != 4) fail(where + ": input or output is not 4-d");
        const auto ph = axis_padding(op.same_padding, xs[1], op.filter_h, op.stride_h, 1);
        const auto pw = axis_padding(op.same_padding, xs[2], op.filter_w, op.stride_w, 1);
        if (ys[1] != ph[2] || ys[2] != pw[2] || ys[3] != xs[3])
          fail(where + ": output " + shape_text(ys) + " does not fit");
        if (ph[0] || ph[1] || pw[0] || pw[1]) step.pad = {pw[0], pw[1], ph[0], ph[1]};
        step.pool = {op.filter_h, op.filter_w, op.stride_h, op.stride_w};
        break;
      }
      case TfliteOpKind::pad: {
        const torch::Tensor p = constant(op.inputs[1]);
        if (!p.defined() || p.dim() != 2 || p.size(0) != static_cast<int64_t>(xs.size()) || p.size(1) != 2) {
          fail(where + ": the paddings are not a constant [rank, 2] tensor");
        }
        // TFLite order of axes -> F::pad order (last axis first) of the tensor as held.
        std::vector<int64_t> axes(xs.size());
        for (size_t a = 0; a < axes.size(); ++a) axes[a] = static_cast<int64_t>(a);
        if (xs.size() == 4) axes = {0, 3, 1, 2};  // held NCHW: held axis i is TFLite axis axes[i]
        for (auto a = axes.rbegin(); a != axes.rend(); ++a) {
          const int64_t before = p[*a][0].item<int64_t>(), after = p[*a][1].item<int64_t>();
          if (before < 0 || after < 0 || before > 4096 || after > 4096) fail(where + ": padding out of range");
          step.pad.push_back(before);
          step.pad.push_back(after);
        }
        for (size_t a = 0; a < xs.size(); ++a) {
          if (ys.size() != xs.size() || ys[a] != xs[a] + p[a][0].item<int64_t>() + p[a][1].item<int64_t>()) {
            fail(where + ": output " + shape_text(ys) + " does not fit");
          }
        }
        break;
      }
      case TfliteOpKind::reshape: {
        int64_t in_numel = 1, out_numel = 1;
        for (const int64_t d : xs) in_numel *= d;
        for (const int64_t d : ys) out_numel *= d;
        if (in_numel != out_numel || ys.empty() || xs.empty() || xs[0] != 1 || ys[0] != 1) {
          fail(where + ": cannot reshape " + shape_text(xs) + " to " + shape_text(ys) + " (batch 1 in the file)");
        }
        step.shape = ys;
        break;
      }
      case TfliteOpKind::resize_bilinear: {
        const torch::Tensor s = constant(op.inputs[1]);
        if (!s.defined() || s.numel() != 2) fail(where + ": the size is not a constant of 2 values");
        step.size = {s[0].item<int64_t>(), s[1].item<int64_t>()};
        if (op.half_pixel_centers == op.align_corners) {
          fail(where +
               ": only half_pixel_centers or align_corners is supported (the legacy mode without either "
               "has no LibTorch equivalent)");
        }
        if (xs.size() != 4 || ys.size() != 4 || ys[1] != step.size[0] || ys[2] != step.size[1] || ys[3] != xs[3]) {
          fail(where + ": output " + shape_text(ys) + " does not fit");
        }
        step.align_corners = op.align_corners;
        break;
      }
      case TfliteOpKind::add: {
        step.inputs.push_back(op.inputs[1]);
        require(op.inputs[1], op);
        for (const int32_t id : step.inputs) {
          const torch::Tensor c = constant(id);
          if (!c.defined() || constants_[id].defined()) continue;
          // A constant operand of an image tensor held NCHW: NHWC constant -> NCHW, per-channel -> [1, C, 1, 1].
          if (ys.size() == 4 && c.dim() == 4) {
            keep_constant(id, c.permute({0, 3, 1, 2}));
          } else if (ys.size() == 4 && c.dim() == 1) {
            keep_constant(id, c.reshape({1, -1, 1, 1}));
          } else if (ys.size() == 4 && c.dim() > 1) {
            fail(where + ": a constant operand of shape " + shape_text(c.sizes().vec()) + " on a 4-d tensor");
          } else {
            keep_constant(id, c);
          }
        }
        break;
      }
      case TfliteOpKind::logistic:
        break;
      case TfliteOpKind::dequantize:
        break;
    }
    if (op.kind != TfliteOpKind::add && !ready[op.inputs[0]]) fail(where + ": its input is a constant");
    ready[step.output] = true;
    nchw_[step.output] = ys.size() == 4;
    steps_.push_back(std::move(step));
  }
  // Each computed tensor is dropped after the step that reads it last (not the graph's outputs).
  std::vector<int> last(n, -1);
  for (size_t k = 0; k < steps_.size(); ++k)
    for (const int32_t id : steps_[k].inputs) last[id] = static_cast<int>(k);
  for (const int32_t id : model.outputs) last[id] = -1;
  for (size_t id = 0; id < n; ++id)
    if (last[id] >= 0 && static_cast<int32_t>(id) != input_id_ && !constants_[id].defined())
      steps_[last[id]].last_use.push_back(static_cast<int32_t>(id));
  for (const int32_t id : model.outputs) {
    if (!ready[id]) fail("output '" + model.tensor(id).name + "' is never computed");
    output_ids_.push_back(id);
    output_names_.push_back(model.tensor(id).name);
    output_shapes_.push_back(shape_of(model.tensor(id)));
  }
}

void TfliteNetworkImpl::set_precision(Precision precision) {
  if (precision == Precision::bfloat16) require_packed_bfloat16("infer.precision");
  precision_ = precision;  // the bfloat16 copies, once made, stay for the next switch
}

void TfliteNetworkImpl::refresh_bfloat16() {
  std::vector<std::pair<const void*, uint32_t>> sources;
  for (const Step& s : steps_)
    if (s.conv)
      for (const auto& t : {s.conv->weight, s.conv->bias})
        sources.emplace_back(t.defined() ? t.data_ptr() : nullptr, t.defined() ? t._version() : 0);
  if (sources == bf16_sources_) return;
  bf16_weights_.assign(steps_.size(), {});
  bf16_biases_.assign(steps_.size(), {});
  for (size_t k = 0; k < steps_.size(); ++k) {
    const Step& s = steps_[k];
    if (!s.conv) continue;
    bf16_weights_[k] = s.conv->weight.detach().to(torch::kBFloat16).contiguous(torch::MemoryFormat::ChannelsLast);
    if (s.conv->bias.defined()) bf16_biases_[k] = s.conv->bias.detach().to(torch::kBFloat16);
  }
  bf16_constants_.assign(constants_.size(), {});
  for (size_t id = 0; id < constants_.size(); ++id)
    if (constants_[id].defined() && constants_[id].is_floating_point())
      bf16_constants_[id] = constants_[id].to(torch::kBFloat16);
  bf16_sources_ = std::move(sources);
}

std::vector<torch::Tensor> TfliteNetworkImpl::forward(const torch::Tensor& input) {
  if (input.dim() != 4 || input.size(1) != input_hwc_[2] || input.size(2) != input_hwc_[0] ||
      input.size(3) != input_hwc_[1]) {
    throw Error(path_ + ": input of shape " + shape_text(input.sizes().vec()) + "; the network takes [N, " +
                std::to_string(input_hwc_[2]) + ", " + std::to_string(input_hwc_[0]) + ", " +
                std::to_string(input_hwc_[1]) + "]");
  }
  const int64_t batch = input.size(0);
  const bool bf16 = precision_ == Precision::bfloat16 && input.device().is_cpu() && !torch::GradMode::is_enabled();
  if (bf16) refresh_bfloat16();
  const std::vector<torch::Tensor>& constants = bf16 ? bf16_constants_ : constants_;
  std::vector<torch::Tensor> values(constants_.size());
  // Channels-last activations (and weights): oneDNN's convolutions take NHWC as it is,
  // where NCHW is reordered on every call (measured: 25% faster on the full network).
  values[input_id_] = (bf16 ? input.to(torch::kBFloat16) : input).contiguous(torch::MemoryFormat::ChannelsLast);
  const auto get = [&](int32_t id) -> const torch::Tensor& {
    return values[id].defined() ? values[id] : constants[id];
  };

  for (size_t k = 0; k < steps_.size(); ++k) {
    Step& s = steps_[k];
    const torch::Tensor& x = get(s.inputs[0]);
    torch::Tensor y;
    switch (s.kind) {
      case TfliteOpKind::conv_2d:
      case TfliteOpKind::depthwise_conv_2d: {
        const torch::Tensor padded = s.pad.empty() ? x : F::pad(x, F::PadFuncOptions(s.pad));
        if (bf16) {
          const auto& o = s.conv->options;
          const auto* padding = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
          TORCH_CHECK(padding != nullptr, "TfliteNetwork: explicit convolution padding expected");
          y = torch::conv2d(padded, bf16_weights_[k], bf16_biases_[k], *o.stride(), **padding, *o.dilation(),
                            o.groups());
        } else {
          y = s.conv->forward(padded);
        }
        break;
      }
      case TfliteOpKind::max_pool_2d: {
        const torch::Tensor padded =
            s.pad.empty() ? x : F::pad(x, F::PadFuncOptions(s.pad).value(-std::numeric_limits<double>::infinity()));
        y = torch::max_pool2d(padded, {s.pool[0], s.pool[1]}, {s.pool[2], s.pool[3]});
        break;
      }
      case TfliteOpKind::pad:
        y = F::pad(x, F::PadFuncOptions(s.pad));
        break;
      case TfliteOpKind::reshape: {
        std::vector<int64_t> shape = s.shape;
        shape[0] = batch;
        y = (x.dim() == 4 && nchw_[s.inputs[0]] ? x.permute({0, 2, 3, 1}) : x).reshape(shape);
        if (nchw_[s.output]) y = y.permute({0, 3, 1, 2});
        break;
      }
      case TfliteOpKind::resize_bilinear:
        y = F::interpolate(x, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>(s.size))
                                  .mode(torch::kBilinear)
                                  .align_corners(s.align_corners));
        break;
      case TfliteOpKind::add:
        y = x + get(s.inputs[1]);
        break;
      case TfliteOpKind::logistic:
        y = torch::sigmoid(x);
        break;
      case TfliteOpKind::dequantize:
        break;
    }
    values[s.output] = activate(std::move(y), s.activation);
    for (const int32_t id : s.last_use) values[id] = torch::Tensor();  // memory stays warm and small
  }
  std::vector<torch::Tensor> out;
  out.reserve(output_ids_.size());
  for (const int32_t id : output_ids_) out.push_back(bf16 ? values[id].to(torch::kFloat) : values[id]);
  return out;
}

TfliteNetwork load_tflite_network(const std::string& path) { return TfliteNetwork(read_tflite(path)); }

}  // namespace dkd
