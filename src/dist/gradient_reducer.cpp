#include "dkd/dist/gradient_reducer.h"

#include <torch/torch.h>

#include <map>

#include "dkd/util/error.h"

namespace dkd {

GradientReducer::GradientReducer(DistContext& ctx, std::vector<at::Tensor> params, double bucket_mb, std::string name)
    : ctx_(ctx), params_(std::move(params)), name_(std::move(name)) {
  if (bucket_mb <= 0) bucket_mb = ctx_.bucket_mb();
  const int64_t cap_bytes = std::max<int64_t>(1, static_cast<int64_t>(bucket_mb * 1024 * 1024));
  for (auto& p : params_) {
    if (!p.defined()) throw UsageError("GradientReducer(" + name_ + "): undefined parameter");
    num_elements_ += p.numel();
  }
  ctx_.check_same(static_cast<double>(num_elements_), "number of elements in parameter group '" + name_ + "'");
  if (!ctx_.enabled()) return;
  const c10::Device comm = ctx_.backend() == "nccl" ? ctx_.device() : c10::Device(c10::kCPU);
  // Open bucket per dtype; a bucket is closed when the next tensor would overflow it.
  std::map<int, size_t> open;  // dtype -> index in buckets_
  std::map<size_t, int64_t> sizes;
  std::map<size_t, c10::ScalarType> types;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& p = params_[i];
    const int key = static_cast<int>(p.scalar_type());
    const int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
    auto it = open.find(key);
    if (it == open.end() || (sizes[it->second] > 0 &&
                             (sizes[it->second] + p.numel()) * static_cast<int64_t>(p.element_size()) > cap_bytes)) {
      buckets_.emplace_back();
      open[key] = buckets_.size() - 1;
      it = open.find(key);
      types[it->second] = p.scalar_type();
    }
    (void)bytes;
    buckets_[it->second].slots.push_back({i, sizes[it->second]});
    sizes[it->second] += p.numel();
  }
  for (size_t b = 0; b < buckets_.size(); ++b)
    buckets_[b].flat = torch::zeros({sizes[b]}, torch::TensorOptions().dtype(types[b]).device(comm));
  has_grad_ =
      torch::zeros({static_cast<int64_t>(params_.size())}, torch::TensorOptions().dtype(torch::kFloat32).device(comm));
}

void GradientReducer::reduce() {
  start();
  finish();
}

void GradientReducer::start() {
  if (!ctx_.enabled()) return;
  if (started_) throw UsageError("GradientReducer(" + name_ + "): start() called twice");
  torch::NoGradGuard no_grad;
  at::Tensor flags = torch::zeros({static_cast<int64_t>(params_.size())}, torch::kFloat32);
  auto fa = flags.accessor<float, 1>();
  for (auto& bucket : buckets_) {
    for (const auto& s : bucket.slots) {
      const auto& p = params_[s.param];
      const at::Tensor& g = p.grad();
      at::Tensor dst = bucket.flat.narrow(0, s.offset, p.numel());
      if (g.defined()) {
        if (g.is_sparse()) throw UsageError("GradientReducer(" + name_ + "): sparse gradients are not supported");
        dst.view_as(p).copy_(g);
        fa[s.param] = 1.0f;
      } else {
        dst.zero_();
      }
    }
  }
  has_grad_.copy_(flags);
  started_ = true;
  has_grad_work_ = ctx_.all_reduce_sum_async(has_grad_);
  for (auto& bucket : buckets_) bucket.work = ctx_.all_reduce_sum_async(bucket.flat);
}

void GradientReducer::finish() {
  if (!ctx_.enabled()) return;
  if (!started_) throw UsageError("GradientReducer(" + name_ + "): finish() without start()");
  started_ = false;
  has_grad_work_.wait();
  for (auto& bucket : buckets_) bucket.work.wait();  // wait first, then divide
  torch::NoGradGuard no_grad;
  at::Tensor counts = has_grad_.to(torch::kCPU);
  auto ca = counts.accessor<float, 1>();
  const double n = ctx_.world_size();
  for (auto& bucket : buckets_) {
    bucket.flat.div_(n);
    for (const auto& s : bucket.slots) {
      auto& p = params_[s.param];
      if (ca[s.param] <= 0.0f) continue;  // no rank had a gradient: leave undefined
      at::Tensor src = bucket.flat.narrow(0, s.offset, p.numel()).view_as(p);
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      p.mutable_grad().copy_(src);
    }
  }
}

}  // namespace dkd
