#include "dkd/models/packed_conv.h"

#include <ATen/Context.h>

#include "dkd/models/subpixel_deconv.h"

namespace dkd {

namespace {

/// The per-output-channel scale and shift of an eval-mode batch norm.
struct BnAffine {
  torch::Tensor scale, shift;
};
BnAffine bn_affine(torch::nn::BatchNorm2dImpl& bn) {
  const auto scale = bn.weight.detach() / torch::sqrt(bn.running_var + bn.options.eps());
  return {scale, bn.bias.detach() - bn.running_mean * scale};
}

std::vector<torch::Tensor> sources_of(const torch::Tensor& weight, const torch::Tensor& bias,
                                      torch::nn::BatchNorm2dImpl* bn) {
  std::vector<torch::Tensor> s = {weight};
  if (bias.defined()) s.push_back(bias);
  if (bn) {
    s.push_back(bn->weight);
    s.push_back(bn->bias);
    s.push_back(bn->running_mean);
    s.push_back(bn->running_var);
  }
  return s;
}

/// The explicit padding of a convolution's options (ResNet and SimpleBaseline use no other kind).
std::vector<int64_t> explicit_padding(const torch::nn::detail::ConvNdOptions<2>::padding_t& p) {
  const auto* a = c10::get_if<torch::ExpandingArray<2>>(&p);
  TORCH_CHECK(a != nullptr, "PackedConv: only explicit padding is packed");
  return {(**a)[0], (**a)[1]};
}

}  // namespace

bool packed_inference_supported(const torch::Tensor& x) {
  return x.defined() && x.device().is_cpu() && x.scalar_type() == torch::kFloat && !torch::GradMode::is_enabled() &&
         at::hasMKLDNN();
}

bool PackedConv::current(const std::vector<torch::Tensor>& sources) const {
  if (!weight_.defined() || key_.size() != sources.size()) return false;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    if (key_[i].first != sources[i].data_ptr() || key_[i].second != sources[i]._version()) return false;
  }
  return true;
}

void PackedConv::remember(const std::vector<torch::Tensor>& sources) {
  key_.clear();
  for (const auto& s : sources) key_.emplace_back(s.data_ptr(), s._version());
}

torch::Tensor PackedConv::conv(torch::nn::Conv2dImpl& conv, torch::nn::BatchNorm2dImpl* bn, const torch::Tensor& x) {
  const auto sources = sources_of(conv.weight, conv.bias, bn);
  if (!current(sources)) {
    const auto& o = conv.options;
    TORCH_CHECK(o.groups() == 1 && (*o.dilation())[0] == 1 && (*o.dilation())[1] == 1,
                "PackedConv: only groups 1 and dilation 1 are packed");
    padding_ = explicit_padding(o.padding());
    stride_ = {(*o.stride())[0], (*o.stride())[1]};
    auto w = conv.weight.detach();
    auto b = conv.bias.defined() ? conv.bias.detach() : torch::zeros({w.size(0)}, w.options());
    if (bn) {
      const BnAffine f = bn_affine(*bn);
      w = w * f.scale.view({-1, 1, 1, 1});
      b = b * f.scale + f.shift;
    }
    weight_ = at::mkldnn_reorder_conv2d_weight(w.contiguous().to_mkldnn(), padding_, stride_, {1, 1}, 1);
    bias_ = b.contiguous();
    remember(sources);
  }
  return at::mkldnn_convolution(x, weight_, bias_, padding_, stride_, {1, 1}, 1);
}

torch::Tensor PackedConv::deconv(torch::nn::ConvTranspose2dImpl& deconv, torch::nn::BatchNorm2dImpl* bn,
                                 const torch::Tensor& x) {
  const auto sources = sources_of(deconv.weight, deconv.bias, bn);
  const int64_t out = deconv.weight.size(1);
  if (!current(sources)) {
    TORCH_CHECK((*deconv.options.stride())[0] == 2 && (*deconv.options.stride())[1] == 2 &&
                    deconv.options.groups() == 1,
                "PackedConv: only stride-2, groups-1 transposed convolutions are packed");
    auto w = deconv.weight.detach();  // [in, out, K, K]
    auto b = deconv.bias.defined() ? deconv.bias.detach() : torch::zeros({out}, w.options());
    if (bn) {
      const BnAffine f = bn_affine(*bn);
      w = w * f.scale.view({1, -1, 1, 1});
      b = b * f.scale + f.shift;
    }
    const auto k = subpixel_weight(w, explicit_padding(deconv.options.padding())[0]);
    padding_ = {1, 1};
    stride_ = {1, 1};
    weight_ = at::mkldnn_reorder_conv2d_weight(k.contiguous().to_mkldnn(), padding_, stride_, {1, 1}, 1);
    bias_ = b.repeat_interleave(4).contiguous();
    remember(sources);
  }
  const auto y = at::mkldnn_convolution(x.to_mkldnn(), weight_, bias_, padding_, stride_, {1, 1}, 1).to_dense();
  return subpixel_interleave(y, out, x.size(2), x.size(3));
}

}  // namespace dkd
