#include "dkd/models/resnet.h"

#include <cmath>
#include <string>

#include "dkd/util/error.h"

namespace dkd {
namespace {

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t padding) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(padding).bias(false));
}

torch::nn::Sequential make_downsample(int64_t in, int64_t out, int64_t stride) {
  if (stride == 1 && in == out) return nullptr;
  return torch::nn::Sequential(conv(in, out, 1, stride, 0), torch::nn::BatchNorm2d(out));
}

}  // namespace

ResNetBlockImpl::ResNetBlockImpl(int64_t in_channels, int64_t planes, int64_t stride, bool bottleneck) {
  const int64_t out_channels = planes * resnet_expansion(bottleneck);
  if (bottleneck) {
    conv1 = register_module("conv1", conv(in_channels, planes, 1, 1, 0));
  } else {
    conv1 = register_module("conv1", conv(in_channels, planes, 3, stride, 1));
  }
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3, bottleneck ? stride : 1, 1));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(planes));
  if (bottleneck) {
    conv3 = register_module("conv3", conv(planes, out_channels, 1, 1, 0));
    bn3 = register_module("bn3", torch::nn::BatchNorm2d(out_channels));
  }
  downsample = make_downsample(in_channels, out_channels, stride);
  if (downsample) register_module("downsample", downsample);
}

torch::Tensor ResNetBlockImpl::forward(const torch::Tensor& x) {
  auto out = torch::relu(bn1(conv1(x)));
  out = bn2(conv2(out));
  if (conv3) out = bn3(conv3(torch::relu(out)));
  auto identity = downsample ? downsample->forward(x) : x;
  return torch::relu(out + identity);
}

torch::Tensor ResNetBlockImpl::forward_packed(const torch::Tensor& x) {
  auto out = torch::relu(packed1_.conv(*conv1, bn1.get(), x));
  out = packed2_.conv(*conv2, bn2.get(), out);
  if (conv3) out = packed3_.conv(*conv3, bn3.get(), torch::relu(out));
  const auto identity = downsample ? packed_downsample_.conv(*downsample[0]->as<torch::nn::Conv2d>(),
                                                             downsample[1]->as<torch::nn::BatchNorm2d>(), x)
                                   : x;
  return torch::relu(out + identity);
}

ResNetLayout resnet_layout(int depth, const std::string& key) {
  switch (depth) {
    case 18:
      return {false, {2, 2, 2, 2}};
    case 34:
      return {false, {3, 4, 6, 3}};
    case 50:
      return {true, {3, 4, 6, 3}};
    case 101:
      return {true, {3, 4, 23, 3}};
    case 152:
      return {true, {3, 8, 36, 3}};
    default:
      throw ConfigError(key + " = " + std::to_string(depth) + ": ResNet depth must be 18, 34, 50, 101 or 152");
  }
}

int64_t resnet_planes(int stage, double width) {
  const double channels = 64.0 * std::pow(2.0, stage) * width;
  return std::max<int64_t>(1, static_cast<int64_t>(std::lround(channels)));
}

torch::nn::Sequential make_resnet_stage(const ResNetLayout& layout, int64_t& in_channels, int64_t planes,
                                        int64_t blocks, int64_t stride) {
  torch::nn::Sequential stage;
  for (int64_t i = 0; i < blocks; ++i) {
    const int64_t s = i == 0 ? stride : 1;
    stage->push_back(ResNetBlock(in_channels, planes, s, layout.bottleneck));
    in_channels = planes * layout.expansion();
  }
  return stage;
}

}  // namespace dkd
