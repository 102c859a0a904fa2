#pragma once
// GradientReducer: data-parallel gradient averaging for one parameter group
// (dkd keeps one for the pose networks and one for the discriminator, so each
// optimizer sees only its own group averaged).
//
// Gradients are packed in order into flat buckets of at most dist.bucket_mb
// (one dtype per bucket); every bucket's all-reduce is started asynchronously,
// then all are waited for, *then* divided by the world size and copied back
// into .grad(). A parameter without a gradient on every rank keeps an
// undefined gradient (so optimizers skip it exactly as in one process); one
// with a gradient on some ranks only gets the average with zeros elsewhere.
// With world size 1 every call is a no-op.
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "dkd/dist/process_group.h"

namespace dkd {

class GradientReducer {
 public:
  /// `bucket_mb` <= 0 takes dist.bucket_mb from the context. Checks (one
  /// collective) that every rank registered the same number of elements.
  GradientReducer(DistContext& ctx, std::vector<at::Tensor> params, double bucket_mb = 0.0,
                  std::string name = "gradients");

  /// start() + finish(): call after backward(), before optimizer.step().
  void reduce();
  /// Packs the gradients and starts the bucket all-reduces.
  void start();
  /// Waits for them, averages and writes the gradients back. dkd::Error when a
  /// peer died or did not answer within dist.timeout_s.
  void finish();

  int num_buckets() const { return static_cast<int>(buckets_.size()); }
  int64_t num_elements() const { return num_elements_; }
  const std::string& name() const { return name_; }

 private:
  struct Slot {
    size_t param;    // index into params_
    int64_t offset;  // into the bucket's flat buffer
  };
  struct Bucket {
    at::Tensor flat;
    std::vector<Slot> slots;
    DistWork work;
  };

  DistContext& ctx_;
  std::vector<at::Tensor> params_;
  std::string name_;
  std::vector<Bucket> buckets_;
  at::Tensor has_grad_;  // per parameter: number of ranks with a gradient
  DistWork has_grad_work_;
  int64_t num_elements_ = 0;
  bool started_ = false;
};

}  // namespace dkd
