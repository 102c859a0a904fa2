#pragma once
// DistContext: one rank's handle on a c10d process group (LibTorch has no DDP
// module in C++, so dkd does its own data parallelism on top of this).
//
//   Gloo on CPU; NCCL on CUDA when this LibTorch was built with it (USE_C10D_NCCL).
//   Rendezvous through c10d::TCPStore at MASTER_ADDR:MASTER_PORT (rank 0 serves
//   it; under torchrun the agent's store is used, like PyTorch's env://).
//   Every collective honours dist.timeout_s: a dead or hung peer raises
//   dkd::Error ("... rank 1 did not answer within 5 s ...") instead of hanging.
//
// A default-constructed or world_size-1 context is valid: every collective is a
// no-op, so the trainer's code path is the same with and without distribution.
//
// Typical trainer order:
//   DistEnv env = dist_env_from_environment();
//   c10::Device dev = rank_device(resolve_device(cfg.runtime.device), env);
//   DistContext dist(env, cfg.dist, dev);          // rendezvous
//   dist.broadcast_parameters(*model);              // same initial weights
//   GradientReducer pose(dist, pose_params), disc(dist, disc_params);
//   per step: backward(); pose.reduce(); opt.step(); ... k = dist.all_reduce_mean(k_update)
//   before validation: dist.sync_batchnorm_stats(*model); after: dist.all_reduce_counts(hits, counts)
//   checkpoint: dist.barrier(); if (dist.is_main()) save(...); dist.barrier();
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "dkd/dist/env.h"

namespace torch {
namespace nn {
class Module;
}
}  // namespace torch

namespace dkd {

struct DistConfig;

/// For CUDA runs: "cuda" without an index becomes cuda:LOCAL_RANK (one GPU per
/// rank). Any other device is returned unchanged.
c10::Device rank_device(const c10::Device& configured, const DistEnv& env);

/// Names the backend dist.backend resolves to for `device`: "gloo" or "nccl".
/// ConfigError naming dist.backend when nccl is asked for but not compiled in
/// or the device is not CUDA, or when this build has no c10d backend at all.
std::string resolve_backend(DistBackend backend, const c10::Device& device);

/// True when this build can run NCCL (LibTorch with CUDA and c10d NCCL).
bool nccl_compiled_in();
/// True when this build can run Gloo (gloo headers found at configure time).
bool gloo_compiled_in();

/// An asynchronous collective in flight. wait() blocks until it is done (at
/// most dist.timeout_s) and throws dkd::Error on failure. Waiting on an empty
/// handle (single process) returns at once.
class DistWork {
 public:
  DistWork() = default;
  explicit DistWork(std::function<void()> waiter) : waiter_(std::move(waiter)) {}
  void wait();
  bool pending() const { return static_cast<bool>(waiter_); }

 private:
  std::function<void()> waiter_;
};

class DistContext {
 public:
  /// Single process: rank 0 of 1, every collective a no-op.
  DistContext();
  /// Joins the group described by `env` (a no-op for world_size 1). Throws
  /// ConfigError for a bad dist.backend, dkd::Error when the rendezvous does not
  /// complete within dist.timeout_s (naming the address and the missing ranks).
  DistContext(const DistEnv& env, const DistConfig& config, const c10::Device& device);
  ~DistContext();
  DistContext(const DistContext&) = delete;
  DistContext& operator=(const DistContext&) = delete;

  int rank() const;
  int world_size() const;
  int local_rank() const;
  bool enabled() const { return world_size() > 1; }
  bool is_main() const { return rank() == 0; }
  /// "none" (single process), "gloo" or "nccl".
  const std::string& backend() const;
  double timeout_s() const;
  double bucket_mb() const;
  const c10::Device& device() const;

  /// Waits for every rank.
  void barrier();
  /// In place: every rank gets `root`'s values. Shapes must match on all ranks.
  void broadcast(at::Tensor& tensor, int root = 0);
  /// Parameters and buffers (batch-norm statistics included) from `root`.
  void broadcast_parameters(torch::nn::Module& module, int root = 0);
  /// In place sum over ranks.
  void all_reduce_sum(at::Tensor& tensor);
  /// Starts an in-place sum of one dense contiguous tensor; see DistWork.
  DistWork all_reduce_sum_async(at::Tensor tensor);
  /// Scalars: sum / mean over ranks, or root's value on every rank.
  double all_reduce_sum(double value);
  double all_reduce_mean(double value);
  double broadcast_value(double value, int root = 0);
  /// Averages every batch-norm running_mean / running_var of `module` over the
  /// ranks (no SyncBatchNorm in C++: call before validation and checkpoints).
  void sync_batchnorm_stats(torch::nn::Module& module);
  /// In place sums of PCK hit and visible-joint counts (any shape/dtype).
  void all_reduce_counts(at::Tensor& hits, at::Tensor& counts);
  /// Throws dkd::Error naming `what` when `value` differs between ranks
  /// (e.g. a checksum of the parameters, the epoch, the BEGAN k).
  void check_same(double value, const std::string& what);

  /// Turns a c10d failure into dkd::Error naming the operation, this rank, the
  /// peer and the timeout. Exposed for the reducer and for tests.
  [[noreturn]] void fail(const std::string& op, const std::exception& e) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dkd
