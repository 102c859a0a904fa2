#include "dkd/dist/process_group.h"

#include <torch/torch.h>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <map>
#include <sstream>

#include "dkd/config/config.h"
#include "dkd/util/error.h"
#include "dkd/util/strings.h"

namespace dkd {
namespace {

std::string fmt_seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", s);
  return buf;
}

std::string short_message(const std::exception& e) {
  std::string msg;
  if (auto* ce = dynamic_cast<const c10::Error*>(&e))
    msg = ce->what_without_backtrace();
  else
    msg = e.what();
  auto nl = msg.find('\n');
  if (nl != std::string::npos) msg = msg.substr(0, nl);
  if (msg.size() > 300) msg = msg.substr(0, 300) + "...";
  return msg;
}

bool is_loopback(const std::string& addr) { return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1"; }

}  // namespace

void DistWork::wait() {
  if (!waiter_) return;
  auto w = std::move(waiter_);
  waiter_ = nullptr;
  w();
}

bool nccl_compiled_in() {
#ifdef USE_C10D_NCCL
  return true;
#else
  return false;
#endif
}

bool gloo_compiled_in() {
#ifdef USE_C10D_GLOO
  return true;
#else
  return false;
#endif
}

c10::Device rank_device(const c10::Device& configured, const DistEnv& env) {
  if (configured.is_cuda() && !configured.has_index())
    return c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(env.local_rank));
  return configured;
}

std::string resolve_backend(DistBackend backend, const c10::Device& device) {
  switch (backend) {
    case DistBackend::nccl:
      break;
    case DistBackend::automatic:
      if (device.is_cuda() && nccl_compiled_in()) return "nccl";
      if (gloo_compiled_in()) return "gloo";
      throw ConfigError(
          "dist.backend: 'auto' found no c10d backend in this build (gloo headers were not "
          "found at configure time: install libgloo-dev and reconfigure)");
    case DistBackend::gloo:
      if (!gloo_compiled_in())
        throw ConfigError(
            "dist.backend: 'gloo' is not compiled in (gloo headers were not found at configure "
            "time: install libgloo-dev and reconfigure)");
      return "gloo";
  }
  {
    if (!nccl_compiled_in())
      throw ConfigError(
          "dist.backend: 'nccl' is not available: this LibTorch build has no CUDA/NCCL "
          "support compiled into dkd; use 'gloo' or 'auto'");
    if (!device.is_cuda())
      throw ConfigError("dist.backend: 'nccl' needs a CUDA device, but runtime.device is '" + device.str() +
                        "'; use 'gloo' or 'auto'");
    return "nccl";
  }
}

struct DistContext::Impl {
  DistEnv env;
  std::string backend = "none";
  double timeout_s = 300.0;
  double bucket_mb = 25.0;
  c10::Device device{c10::kCPU};
  c10::Device comm_device{c10::kCPU};  // where tensors must live for the backend
  std::chrono::milliseconds timeout{300000};
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  mutable bool broken = false;  // a collective failed: no orderly shutdown
};

DistContext::DistContext() : impl_(std::make_unique<Impl>()) {}

DistContext::DistContext(const DistEnv& env, const DistConfig& config, const c10::Device& device)
    : impl_(std::make_unique<Impl>()) {
  auto& I = *impl_;
  I.env = env;
  I.timeout_s = config.timeout_s;
  I.bucket_mb = config.bucket_mb;
  I.device = device;
  if (!(config.timeout_s > 0) || !(config.timeout_s <= kMaxDistTimeoutS))
    throw ConfigError("dist.timeout_s: must be positive and at most " + std::to_string(kMaxDistTimeoutS) + ", got " +
                      std::to_string(config.timeout_s));
  if (!(config.bucket_mb > 0))
    throw ConfigError("dist.bucket_mb: must be positive, got " + std::to_string(config.bucket_mb));
  I.timeout = std::chrono::milliseconds(static_cast<int64_t>(config.timeout_s * 1000.0 + 0.5));
  if (env.world_size <= 1) return;
  if (env.rank < 0 || env.rank >= env.world_size)
    throw ConfigError("RANK=" + std::to_string(env.rank) +
                      " is not below WORLD_SIZE=" + std::to_string(env.world_size));
  const std::string backend = resolve_backend(config.backend, device);
  I.comm_device = backend == "nccl" ? device : c10::Device(c10::kCPU);

  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  try {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<std::uint16_t>(env.master_port);
    opts.isServer = !env.use_agent_store && env.rank == 0;
    opts.numWorkers = static_cast<std::size_t>(env.world_size);
    opts.waitWorkers = true;
    opts.timeout = I.timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(env.master_addr, opts);
    if (env.use_agent_store)
      I.store = c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + std::to_string(env.restart_count), tcp);
    else
      I.store = tcp;
  } catch (const std::exception& e) {
    throw Error("dist: rendezvous of " + env.describe() + " did not complete within " + fmt_seconds(I.timeout_s) +
                " (dist.timeout_s): " + short_message(e) + ". Check that all " + std::to_string(env.world_size) +
                " ranks were started and agree on MASTER_ADDR:MASTER_PORT (" + where +
                "), and that the port is free on rank 0");
  }

  try {
    if (backend == "gloo") {
#ifdef USE_C10D_GLOO
      auto opts = c10d::ProcessGroupGloo::Options::create(I.timeout);
      if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      else if (is_loopback(env.master_addr))
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      opts->threads = 2;
      I.pg = c10::make_intrusive<c10d::ProcessGroupGloo>(I.store, env.rank, env.world_size, opts);
#endif
    } else {
#ifdef USE_C10D_NCCL
      // Blocking wait makes Work::wait honour the timeout (a hung peer raises).
      ::setenv("NCCL_BLOCKING_WAIT", "1", 0);
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = I.timeout;
      I.pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(I.store, env.rank, env.world_size, opts);
#endif
    }
  } catch (const std::exception& e) {
    throw Error("dist: rendezvous of " + env.describe() + " did not complete within " + fmt_seconds(I.timeout_s) +
                " (dist.timeout_s) while creating the " + backend + " process group: " + short_message(e) +
                ". Check that all " + std::to_string(env.world_size) + " ranks were started and agree on " +
                "MASTER_ADDR:MASTER_PORT (" + where + ")");
  }
  if (!I.pg) throw Error("dist: backend '" + backend + "' is not compiled in");
  I.backend = backend;
  barrier();  // everybody is connected before the first real collective
}

DistContext::~DistContext() {
  if (impl_ && impl_->broken) {
    // After a failed collective the group may still wait on a dead or hung peer;
    // tearing it down could block, so it is deliberately leaked (the process is
    // about to end with an error anyway).
    impl_->pg.release();
    impl_->store.release();
  }
}

int DistContext::rank() const { return impl_->env.world_size > 1 ? impl_->env.rank : 0; }
int DistContext::world_size() const { return std::max(1, impl_->env.world_size); }
int DistContext::local_rank() const { return impl_->env.local_rank; }
const std::string& DistContext::backend() const { return impl_->backend; }
double DistContext::timeout_s() const { return impl_->timeout_s; }
double DistContext::bucket_mb() const { return impl_->bucket_mb; }
const c10::Device& DistContext::device() const { return impl_->device; }

void DistContext::fail(const std::string& op, const std::exception& e) const {
  const auto& I = *impl_;
  I.broken = true;
  std::string msg = short_message(e);
  std::string peer = I.env.world_size == 2 ? "rank " + std::to_string(1 - I.env.rank) : "another rank";
  std::string what;
  if (contains(msg, "imed out") || contains(msg, "imeout") || contains(msg, "timed out"))
    what = peer + " did not answer within " + fmt_seconds(I.timeout_s) + " (dist.timeout_s)";
  else if (contains(msg, "losed by peer") || contains(msg, "reset by peer") || contains(msg, "Broken pipe") ||
           contains(msg, "Connection refused") || contains(msg, "closed"))
    what = peer + " closed its connection (it exited or was killed)";
  else
    what = "collective failed";
  throw Error("dist: " + op + " on rank " + std::to_string(I.env.rank) + "/" + std::to_string(I.env.world_size) + ": " +
              what + " [" + msg + "]");
}

namespace {

// Runs `fn` and turns any failure into a dkd::Error through ctx.fail.
template <class F>
auto guarded(const DistContext& ctx, const char* op, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    ctx.fail(op, e);
  }
}

}  // namespace

void DistContext::barrier() {
  if (!enabled()) return;
  guarded(*this, "barrier", [&] {
    auto work = impl_->pg->barrier();
    if (!work->wait(impl_->timeout + std::chrono::seconds(2))) throw std::runtime_error("barrier timed out");
  });
}

DistWork DistContext::all_reduce_sum_async(at::Tensor tensor) {
  if (!enabled()) return DistWork();
  TORCH_CHECK(tensor.is_contiguous(), "all_reduce_sum_async needs a contiguous tensor");
  TORCH_CHECK(tensor.device() == impl_->comm_device, "all_reduce_sum_async: tensor on ", tensor.device(),
              ", backend needs ", impl_->comm_device);
  auto work = guarded(*this, "all_reduce", [&] {
    std::vector<at::Tensor> v{tensor};
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    o.timeout = impl_->timeout;
    return impl_->pg->allreduce(v, o);
  });
  auto timeout = impl_->timeout + std::chrono::seconds(2);
  return DistWork([this, work, timeout] {
    guarded(*this, "all_reduce", [&] {
      if (!work->wait(timeout)) throw std::runtime_error("all_reduce timed out");
    });
  });
}

void DistContext::all_reduce_sum(at::Tensor& tensor) {
  if (!enabled()) return;
  torch::NoGradGuard no_grad;
  at::Tensor comm = tensor.to(impl_->comm_device).contiguous();
  const bool alias = comm.is_same(tensor);
  all_reduce_sum_async(comm).wait();
  if (!alias) tensor.copy_(comm);
}

void DistContext::broadcast(at::Tensor& tensor, int root) {
  if (!enabled()) return;
  if (root < 0 || root >= world_size())
    throw UsageError("dist: broadcast root " + std::to_string(root) + " is not a rank");
  torch::NoGradGuard no_grad;
  at::Tensor comm = tensor.to(impl_->comm_device).contiguous();
  const bool alias = comm.is_same(tensor);
  guarded(*this, "broadcast", [&] {
    std::vector<at::Tensor> v{comm};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    o.timeout = impl_->timeout;
    auto work = impl_->pg->broadcast(v, o);
    if (!work->wait(impl_->timeout + std::chrono::seconds(2))) throw std::runtime_error("broadcast timed out");
  });
  if (!alias) tensor.copy_(comm);
}

namespace {

// Applies `op` to the tensors through one flat buffer per dtype, then copies back.
void flat_apply(std::vector<at::Tensor> tensors, const std::function<void(at::Tensor&)>& op) {
  std::map<std::pair<int, std::string>, std::vector<at::Tensor>> groups;
  for (auto& t : tensors)
    if (t.defined() && t.numel() > 0) groups[{static_cast<int>(t.scalar_type()), t.device().str()}].push_back(t);
  for (auto& [key, ts] : groups) {
    std::vector<at::Tensor> flat_parts;
    flat_parts.reserve(ts.size());
    for (auto& t : ts) flat_parts.push_back(t.detach().reshape({-1}));
    at::Tensor flat = torch::cat(flat_parts);
    op(flat);
    int64_t off = 0;
    for (auto& t : ts) {
      t.detach().copy_(flat.narrow(0, off, t.numel()).view_as(t));
      off += t.numel();
    }
  }
}

}  // namespace

void DistContext::broadcast_parameters(torch::nn::Module& module, int root) {
  if (!enabled()) return;
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> ts;
  for (auto& p : module.parameters(true)) ts.push_back(p);
  for (auto& b : module.buffers(true)) ts.push_back(b);
  check_same(static_cast<double>(ts.size()), "number of parameter and buffer tensors");
  flat_apply(ts, [&](at::Tensor& flat) { broadcast(flat, root); });
}

double DistContext::all_reduce_sum(double value) {
  if (!enabled()) return value;
  at::Tensor t = torch::full({1}, value, torch::TensorOptions().dtype(torch::kFloat64));
  all_reduce_sum(t);
  return t.item<double>();
}

double DistContext::all_reduce_mean(double value) {
  if (!enabled()) return value;
  return all_reduce_sum(value) / world_size();
}

double DistContext::broadcast_value(double value, int root) {
  if (!enabled()) return value;
  at::Tensor t = torch::full({1}, value, torch::TensorOptions().dtype(torch::kFloat64));
  broadcast(t, root);
  return t.item<double>();
}

void DistContext::sync_batchnorm_stats(torch::nn::Module& module) {
  if (!enabled()) return;
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> ts;
  for (auto& item : module.named_buffers(true)) {
    const std::string& name = item.key();
    auto ends_with = [&](const std::string& suffix) {
      return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (ends_with("running_mean") || ends_with("running_var")) ts.push_back(item.value());
  }
  check_same(static_cast<double>(ts.size()), "number of batch-norm statistics tensors");
  const double n = world_size();
  flat_apply(ts, [&](at::Tensor& flat) {
    all_reduce_sum(flat);
    flat.div_(n);
  });
}

void DistContext::all_reduce_counts(at::Tensor& hits, at::Tensor& counts) {
  if (!enabled()) return;
  all_reduce_sum(hits);
  all_reduce_sum(counts);
}

void DistContext::check_same(double value, const std::string& what) {
  if (!enabled()) return;
  at::Tensor t = torch::zeros({world_size()}, torch::TensorOptions().dtype(torch::kFloat64));
  t[rank()] = value;
  all_reduce_sum(t);
  auto acc = t.accessor<double, 1>();
  for (int r = 1; r < world_size(); ++r)
    if (acc[r] != acc[0]) {
      std::ostringstream os;
      os.precision(17);
      os << "dist: ranks disagree on " << what << ": rank 0 has " << acc[0] << ", rank " << r << " has " << acc[r];
      throw Error(os.str());
    }
}

}  // namespace dkd
