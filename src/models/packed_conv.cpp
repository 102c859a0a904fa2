#include "dkd/models/packed_conv.h"

#include <ATen/Context.h>

#include "dkd/models/batch_norm_affine.h"
#include "dkd/models/subpixel_deconv.h"
#include "dkd/util/error.h"

namespace dkd {

namespace {

/// The explicit padding of a convolution's options (ResNet and SimpleBaseline use no other kind).
std::vector<int64_t> explicit_padding(const torch::nn::detail::ConvNdOptions<2>::padding_t& p) {
  const auto* a = c10::get_if<torch::ExpandingArray<2>>(&p);
  TORCH_CHECK(a != nullptr, "PackedConv: only explicit padding is packed");
  return {(**a)[0], (**a)[1]};
}

/// `w` (output channels along `channel_dim`) and bias `b` with `bn` folded in,
/// in float: the folding itself runs in double.
std::pair<torch::Tensor, torch::Tensor> fold(torch::Tensor w, torch::Tensor b, torch::nn::BatchNorm2dImpl* bn,
                                             int64_t channel_dim) {
  if (!bn) return {w, b};
  const BatchNormAffine f = batch_norm_affine(*bn);
  std::vector<int64_t> shape(4, 1);
  shape[channel_dim] = -1;
  w = (w.to(torch::kDouble) * f.scale.view(shape)).to(w.scalar_type());
  b = (b.to(torch::kDouble) * f.scale + f.shift).to(b.scalar_type());
  return {w, b};
}

}  // namespace

bool packed_inference_supported(const torch::Tensor& x) {
  return x.defined() && x.device().is_cpu() && x.scalar_type() == torch::kFloat && !torch::GradMode::is_enabled() &&
         at::hasMKLDNN();
}

bool packed_bfloat16_supported() {
  static const bool supported = [] {
    if (!at::hasMKLDNN()) return false;
    try {
      torch::NoGradGuard no_grad;
      const auto x = torch::ones({1, 8, 4, 4}).to_mkldnn(torch::kBFloat16);
      const auto w = at::mkldnn_reorder_conv2d_weight(torch::ones({8, 8, 1, 1}).to_mkldnn(torch::kBFloat16), {0, 0},
                                                      {1, 1}, {1, 1}, 1);
      const auto y = at::mkldnn_convolution(x, w, torch::zeros({8}), {0, 0}, {1, 1}, {1, 1}, 1).to_dense();
      return y.scalar_type() == torch::kBFloat16 && y.to(torch::kFloat).allclose(torch::full({1, 8, 4, 4}, 8.0f));
    } catch (const std::exception&) {
      return false;
    }
  }();
  return supported;
}

void require_packed_bfloat16(const std::string& key) {
  if (!packed_bfloat16_supported())
    throw Error(key +
                ": bfloat16 needs oneDNN bfloat16 convolutions, which this CPU or LibTorch does not offer "
                "(AVX-512 at least); use " +
                key + ": float32");
}

TensorVersions TensorVersions::of(std::initializer_list<torch::Tensor> tensors, torch::ScalarType dtype) {
  TensorVersions k;
  k.dtype = dtype;
  TORCH_CHECK(tensors.size() <= k.sources.size(), "TensorVersions: at most ", k.sources.size(), " tensors");
  std::size_t i = 0;
  for (const auto& t : tensors) {
    if (t.defined()) k.sources[i] = {t.data_ptr(), t._version()};
    ++i;
  }
  return k;
}

PackedConv::Key PackedConv::key_of(const torch::Tensor& weight, const torch::Tensor& bias,
                                   const torch::nn::BatchNorm2dImpl* bn, torch::ScalarType dtype) {
  if (!bn) return TensorVersions::of({weight, bias}, dtype);
  return TensorVersions::of({weight, bias, bn->weight, bn->bias, bn->running_mean, bn->running_var}, dtype);
}

torch::Tensor PackedConv::conv(torch::nn::Conv2dImpl& conv, torch::nn::BatchNorm2dImpl* bn, const torch::Tensor& x) {
  const Key key = key_of(conv.weight, conv.bias, bn, x.scalar_type());
  if (!weight_.defined() || !(key == key_)) {
    const auto& o = conv.options;
    TORCH_CHECK(o.groups() == 1 && (*o.dilation())[0] == 1 && (*o.dilation())[1] == 1,
                "PackedConv: only groups 1 and dilation 1 are packed");
    padding_ = explicit_padding(o.padding());
    stride_ = {(*o.stride())[0], (*o.stride())[1]};
    const auto w0 = conv.weight.detach();
    const auto b0 = conv.bias.defined() ? conv.bias.detach() : torch::zeros({w0.size(0)}, w0.options());
    const auto [w, b] = fold(w0, b0, bn, 0);
    weight_ = at::mkldnn_reorder_conv2d_weight(w.contiguous().to_mkldnn(key.dtype), padding_, stride_, {1, 1}, 1);
    bias_ = b.contiguous();  // float: oneDNN adds it in the float accumulator
    key_ = key;
  }
  return at::mkldnn_convolution(x, weight_, bias_, padding_, stride_, {1, 1}, 1);
}

torch::Tensor PackedConv::deconv(torch::nn::ConvTranspose2dImpl& deconv, torch::nn::BatchNorm2dImpl* bn,
                                 const torch::Tensor& x) {
  const Key key = key_of(deconv.weight, deconv.bias, bn, x.scalar_type());
  const int64_t out = deconv.weight.size(1);
  if (!weight_.defined() || !(key == key_)) {
    TORCH_CHECK(
        (*deconv.options.stride())[0] == 2 && (*deconv.options.stride())[1] == 2 && deconv.options.groups() == 1,
        "PackedConv: only stride-2, groups-1 transposed convolutions are packed");
    const auto w0 = deconv.weight.detach();  // [in, out, K, K]
    const auto b0 = deconv.bias.defined() ? deconv.bias.detach() : torch::zeros({out}, w0.options());
    const auto [w, b] = fold(w0, b0, bn, 1);
    const auto k = subpixel_weight(w, explicit_padding(deconv.options.padding())[0]);
    padding_ = {1, 1};
    stride_ = {1, 1};
    weight_ = at::mkldnn_reorder_conv2d_weight(k.contiguous().to_mkldnn(key.dtype), padding_, stride_, {1, 1}, 1);
    bias_ = b.repeat_interleave(4).contiguous();
    key_ = key;
  }
  const auto y =
      at::mkldnn_convolution(x.to_mkldnn(key.dtype), weight_, bias_, padding_, stride_, {1, 1}, 1).to_dense();
  return subpixel_interleave(y, out, x.size(2), x.size(3));
}

torch::Tensor FoldedConv::conv(torch::nn::Conv2dImpl& conv, torch::nn::BatchNorm2dImpl* bn, const torch::Tensor& x) {
  const PackedConv::Key key = PackedConv::key_of(conv.weight, conv.bias, bn, conv.weight.scalar_type());
  if (!weight_.defined() || !(key == key_) || weight_.device() != x.device()) {
    const auto w0 = conv.weight.detach();
    const auto b0 = conv.bias.defined() ? conv.bias.detach() : torch::zeros({w0.size(0)}, w0.options());
    std::tie(weight_, bias_) = fold(w0, b0, bn, 0);
    key_ = key;
  }
  const auto& o = conv.options;
  const auto* padding = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
  TORCH_CHECK(padding != nullptr, "FoldedConv: only explicit padding is folded");
  return torch::conv2d(x, weight_, bias_, *o.stride(), **padding, *o.dilation(), o.groups());
}

torch::Tensor forward_folded(torch::nn::Sequential& sequential, std::vector<FoldedConv>& cache, torch::Tensor x) {
  const auto children = sequential->children();
  std::size_t conv_index = 0;
  for (std::size_t i = 0; i < children.size(); ++i) {
    if (auto* conv = children[i]->as<torch::nn::Conv2d>()) {
      auto* bn = i + 1 < children.size() ? children[i + 1]->as<torch::nn::BatchNorm2d>() : nullptr;
      if (cache.size() <= conv_index) cache.resize(conv_index + 1);
      x = cache[conv_index++].conv(*conv, bn, x);
      if (bn) ++i;
    } else if (children[i]->as<torch::nn::ReLU>()) {
      x = torch::relu_(x);
    } else if (auto* pool = children[i]->as<torch::nn::MaxPool2d>()) {
      x = pool->forward(x);
    } else if (auto* gn = children[i]->as<torch::nn::GroupNorm>()) {
      x = gn->forward(x);
    } else if (auto* bn = children[i]->as<torch::nn::BatchNorm2d>()) {
      x = bn->forward(x);
    } else {
      TORCH_CHECK(children[i]->as<torch::nn::Identity>(), "forward_folded: unexpected module ", children[i]->name());
    }
  }
  return x;
}

}  // namespace dkd
