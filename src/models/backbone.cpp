#include "dkd/models/backbone.h"

#include <string>

#include "dkd/models/subpixel_deconv.h"
#include "dkd/models/tflite_network.h"
#include "dkd/util/error.h"

namespace dkd {

DeconvPadding deconv_padding(int kernel, const std::string& key) {
  switch (kernel) {
    case 4:
      return {1, 0};
    case 3:
      return {1, 1};
    case 2:
      return {0, 0};
    default:
      throw ConfigError(key + " = " + std::to_string(kernel) + ": deconvolution kernel must be 2, 3 or 4");
  }
}

void validate_backbone_config(const BackboneConfig& cfg, const std::string& key) {
  resnet_layout(cfg.depth, key + ".depth");
  if (cfg.stages < 1 || cfg.stages > 4) {
    throw ConfigError(key + ".stages = " + std::to_string(cfg.stages) + ": must be 1..4");
  }
  if (!(cfg.width > 0.0)) {
    throw ConfigError(key + ".width = " + std::to_string(cfg.width) + ": must be positive");
  }
  if (cfg.deconv_layers != cfg.stages - 1) {
    const int stride = 4 << (cfg.stages - 1);
    throw ConfigError(key + ".deconv_layers = " + std::to_string(cfg.deconv_layers) + ": with " + key + ".stages = " +
                      std::to_string(cfg.stages) + " the trunk has output stride " + std::to_string(stride) +
                      "; heatmaps are at input/4, so deconv_layers must be " + std::to_string(cfg.stages - 1));
  }
  if (cfg.deconv_layers > 0) {
    deconv_padding(cfg.deconv_kernel, key + ".deconv_kernel");
    if (cfg.deconv_filters < 1) {
      throw ConfigError(key + ".deconv_filters = " + std::to_string(cfg.deconv_filters) + ": must be at least 1");
    }
  }
}

BackboneImpl::BackboneImpl(const BackboneConfig& cfg, const std::string& key, int64_t num_classes) : cfg_(cfg) {
  if (num_classes > 0) {
    resnet_layout(cfg.depth, key + ".depth");
    if (cfg.deconv_layers != 0) {
      throw ConfigError(key + ".deconv_layers = " + std::to_string(cfg.deconv_layers) +
                        ": a classifier backbone has no deconvolution head");
    }
  } else {
    validate_backbone_config(cfg, key);
  }
  const ResNetLayout layout = resnet_layout(cfg.depth, key + ".depth");
  const int64_t stem = resnet_planes(0, cfg.width);
  conv1 = register_module(
      "conv1",
      torch::nn::Conv2d(
          torch::nn::Conv2dOptions(3, stem, cfg.stem_kernel).stride(2).padding(cfg.stem_kernel / 2).bias(false)));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(stem));
  int64_t channels = stem;
  for (int s = 0; s < cfg.stages; ++s) {
    auto stage = make_resnet_stage(layout, channels, resnet_planes(s, cfg.width), layout.blocks[s], s == 0 ? 1 : 2);
    layers_.push_back(register_module("layer" + std::to_string(s + 1), stage));
  }
  trunk_channels_ = channels;
  if (cfg.deconv_layers > 0) {
    const DeconvPadding pad = deconv_padding(cfg.deconv_kernel, key + ".deconv_kernel");
    deconv_layers = torch::nn::Sequential();
    for (int i = 0; i < cfg.deconv_layers; ++i) {
      deconv_layers->push_back(
          torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(channels, cfg.deconv_filters, cfg.deconv_kernel)
                                         .stride(2)
                                         .padding(pad.padding)
                                         .output_padding(pad.output_padding)
                                         .bias(false)));
      deconv_layers->push_back(torch::nn::BatchNorm2d(cfg.deconv_filters));
      deconv_layers->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(true)));
      channels = cfg.deconv_filters;
    }
    register_module("deconv_layers", deconv_layers);
  }
  out_channels_ = channels;
  if (num_classes > 0) {
    fc = register_module("fc", torch::nn::Linear(trunk_channels_, num_classes));
    out_channels_ = num_classes;
  }

  // Initialisation as torchvision (Kaiming fan_out for trunk convolutions) and
  // SimpleBaseline (N(0, 0.001) for deconvolutions); BN starts as identity.
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* c = module->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
    } else if (auto* d = module->as<torch::nn::ConvTranspose2d>()) {
      torch::nn::init::normal_(d->weight, 0.0, 0.001);
    } else if (auto* b = module->as<torch::nn::BatchNorm2d>()) {
      torch::nn::init::ones_(b->weight);
      torch::nn::init::zeros_(b->bias);
    }
  }
}

torch::Tensor BackboneImpl::forward(const torch::Tensor& x) {
  if (packed_ && !is_training() && packed_inference_supported(x)) return forward_packed(x);
  auto out = torch::relu(bn1(conv1(x)));
  out = torch::max_pool2d(out, 3, 2, 1);
  for (auto& layer : layers_) out = layer->forward(out);
  if (fc) {
    out = torch::adaptive_avg_pool2d(out, {1, 1}).flatten(1);
    return fc(out);
  }
  if (deconv_layers) out = run_deconv_head(out);
  return out;
}

void BackboneImpl::set_packed_inference(bool on, torch::ScalarType dtype) {
  TORCH_CHECK(dtype == torch::kFloat || dtype == torch::kBFloat16,
              "Backbone: packed inference runs in float or bfloat16, not ", dtype);
  packed_ = on;
  packed_dtype_ = dtype;
}

torch::Tensor BackboneImpl::forward_packed(const torch::Tensor& x) {
  auto out = torch::relu(packed_stem_.conv(*conv1, bn1.get(), x.contiguous().to_mkldnn(packed_dtype_)));
  out = torch::max_pool2d(out, 3, 2, 1);
  for (auto& layer : layers_) {
    for (const auto& block : layer->children()) out = block->as<ResNetBlockImpl>()->forward_packed(out);
  }
  out = out.to_dense();
  if (fc) return fc(torch::adaptive_avg_pool2d(out.to(torch::kFloat), {1, 1}).flatten(1));
  if (!deconv_layers) return out.to(torch::kFloat);
  // (ConvTranspose2d, BatchNorm2d, ReLU) triples, each one packed sub-pixel convolution.
  const auto children = deconv_layers->children();
  packed_deconv_.resize(children.size() / 3);
  for (std::size_t i = 0; i + 2 < children.size(); i += 3) {
    auto* d = children[i]->as<torch::nn::ConvTranspose2d>();
    auto* bn = children[i + 1]->as<torch::nn::BatchNorm2d>();
    TORCH_CHECK(d && bn && children[i + 2]->as<torch::nn::ReLU>(), "Backbone: unexpected module in deconv_layers");
    out = torch::relu(packed_deconv_[i / 3].deconv(*d, bn, out));
  }
  return out.to(torch::kFloat);
}

int set_packed_inference(torch::nn::Module& root, bool on, torch::ScalarType dtype) {
  int n = 0;
  for (const auto& m : root.modules(/*include_self=*/true)) {
    if (auto* b = m->as<BackboneImpl>()) {
      b->set_packed_inference(on, dtype);
      ++n;
    } else if (auto* t = m->as<TfliteNetworkImpl>()) {  // imported networks (BlazePose): bfloat16 only
      t->set_precision(on && dtype == torch::kBFloat16 ? Precision::bfloat16 : Precision::float32);
      ++n;
    }
  }
  return n;
}

torch::Tensor BackboneImpl::cached_subpixel_weight(std::size_t i, const torch::Tensor& weight, int64_t padding) {
  if (torch::GradMode::is_enabled() && weight.requires_grad()) return {};
  if (subpixel_cache_.size() <= i) subpixel_cache_.resize(i + 1);
  SubpixelCache& c = subpixel_cache_[i];
  if (c.data != weight.data_ptr() || c.version != weight._version() || !c.weight.defined() ||
      c.weight.device() != weight.device()) {
    c.weight = subpixel_weight(weight.detach(), padding);
    c.data = weight.data_ptr();
    c.version = weight._version();
  }
  return c.weight;
}

torch::Tensor BackboneImpl::run_deconv_head(torch::Tensor out) {
  if (cfg_.deconv_impl == DeconvImpl::transposed) return deconv_layers->forward(out);
  const int64_t padding = deconv_padding(cfg_.deconv_kernel).padding;
  std::size_t i = 0;
  for (const auto& child : deconv_layers->children()) {
    if (auto* d = child->as<torch::nn::ConvTranspose2d>()) {
      out = subpixel_deconv(out, d->weight, d->bias, padding, cached_subpixel_weight(i++, d->weight, padding));
    } else if (auto* bn = child->as<torch::nn::BatchNorm2d>()) {
      out = bn->forward(out);
    } else if (auto* relu = child->as<torch::nn::ReLU>()) {
      out = relu->forward(out);
    } else {
      TORCH_CHECK(false, "Backbone: unexpected module in deconv_layers");
    }
  }
  return out;
}

int set_packed_inference(torch::nn::Module& root, const InferConfig& infer) {
  const bool bf16 = infer.precision == Precision::bfloat16;
  if (bf16) require_packed_bfloat16("infer.precision");
  return set_packed_inference(root, infer.packed_inference, bf16 ? torch::kBFloat16 : torch::kFloat);
}

}  // namespace dkd
