#include "dkd/infer/bn_fold.h"

#include <torch/torch.h>

#include "dkd/models/batch_norm_affine.h"
#include "dkd/util/error.h"

namespace dkd {
namespace {

// The protected parameter table of a Module, to give a bias-free convolution a
// registered "bias" parameter (register_parameter refuses an existing name, and
// ConvNdImpl registers an undefined "bias" when built with bias(false)).
struct ParameterTable : torch::nn::Module {
  static torch::OrderedDict<std::string, torch::Tensor>& of(torch::nn::Module& m) {
    return m.*(&ParameterTable::parameters_);
  }
};

void make_identity(torch::nn::BatchNorm2dImpl& bn) {
  if (bn.weight.defined()) bn.weight.fill_(1.0);
  if (bn.bias.defined()) bn.bias.zero_();
  bn.running_mean.zero_();
  bn.running_var.fill_(1.0 - bn.options.eps());
}

/// Conv bias after folding: (b - mean) * s + beta = b * s + shift.
void set_bias(torch::nn::Module& conv, torch::Tensor& bias_member, const torch::Tensor& new_bias) {
  if (bias_member.defined()) {
    bias_member.copy_(new_bias.to(bias_member.dtype()));
    return;
  }
  auto& table = ParameterTable::of(conv);
  auto bias = new_bias.detach().clone();
  if (table.contains("bias")) {
    table["bias"] = bias;
  } else {
    conv.register_parameter("bias", bias, /*requires_grad=*/false);
  }
  bias_member = bias;
}

void fold_conv(torch::nn::Conv2dImpl& conv, torch::nn::BatchNorm2dImpl& bn) {
  const auto f = batch_norm_affine(bn);
  auto& w = conv.weight;
  const auto dtype = w.scalar_type();
  w.copy_((w.to(torch::kDouble) * f.scale.view({-1, 1, 1, 1})).to(dtype));
  auto b = f.shift;
  if (conv.bias.defined()) b = conv.bias.to(torch::kDouble) * f.scale + f.shift;
  set_bias(conv, conv.bias, b.to(w.options()));
  conv.options.bias(true);
}

void fold_deconv(torch::nn::ConvTranspose2dImpl& conv, torch::nn::BatchNorm2dImpl& bn) {
  const auto f = batch_norm_affine(bn);
  auto& w = conv.weight;  // [in, out / groups, kh, kw]
  const auto dtype = w.scalar_type();
  const int64_t groups = conv.options.groups();
  const int64_t in = w.size(0), out_g = w.size(1);
  auto wd = w.to(torch::kDouble).view({groups, in / groups, out_g, w.size(2), w.size(3)});
  wd = wd * f.scale.view({groups, 1, out_g, 1, 1});
  w.copy_(wd.view(w.sizes()).to(dtype));
  auto b = f.shift;
  if (conv.bias.defined()) b = conv.bias.to(torch::kDouble) * f.scale + f.shift;
  set_bias(conv, conv.bias, b.to(w.options()));
  conv.options.bias(true);
}

int64_t out_channels(torch::nn::Module& m) {
  if (auto* c = m.as<torch::nn::Conv2d>()) return c->options.out_channels();
  if (auto* d = m.as<torch::nn::ConvTranspose2d>()) return d->options.out_channels();
  return -1;
}

void fold_in(torch::nn::Module& module, const std::string& prefix, BnFoldReport& report) {
  std::shared_ptr<torch::nn::Module> previous;
  for (const auto& item : module.named_children()) {
    const std::string name = prefix.empty() ? item.key() : prefix + "." + item.key();
    const auto& child = item.value();
    if (auto* bn = child->as<torch::nn::BatchNorm2d>()) {
      const bool has_stats = bn->running_mean.defined() && bn->running_var.defined();
      if (previous && has_stats && out_channels(*previous) == bn->options.num_features()) {
        if (auto* c = previous->as<torch::nn::Conv2d>()) {
          fold_conv(*c, *bn);
        } else {
          fold_deconv(*previous->as<torch::nn::ConvTranspose2d>(), *bn);
        }
        make_identity(*bn);
        ++report.folded;
        report.folded_bn.push_back(name);
      } else {
        report.not_folded.push_back(name);
      }
      previous = nullptr;
      continue;
    }
    fold_in(*child, name, report);
    previous = out_channels(*child) > 0 ? child : nullptr;
  }
}

}  // namespace

BnFoldReport fold_batch_norm(torch::nn::Module& module) {
  for (const auto& m : module.modules(/*include_self=*/true)) {
    if (m->as<torch::nn::BatchNorm2d>() && m->is_training()) {
      throw Error("fold_batch_norm: " + module.name() +
                  " has a BatchNorm2d in training mode; call eval() before folding");
    }
  }
  torch::NoGradGuard no_grad;
  BnFoldReport report;
  fold_in(module, "", report);
  return report;
}

}  // namespace dkd
