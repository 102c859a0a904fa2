#pragma once
// Shared by the distributed tests (tests/test_dist.cpp) and their worker process
// (tests/workers/dist_worker.cpp, target dkd_dist_worker): process helpers, the
// tiny models and the worker modes. Multi-rank tests start dkd_dist_worker once per
// rank with DKD_DIST_WORKER=<mode> (plus the torchrun variables); the worker writes
// its results into DKD_DIST_DIR and exits with its own code (0 ok, 3 dkd::Error, 4 other).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <torch/torch.h>

#include "dkd/config/config.h"
#include "dkd/dist/checkpoint_meta.h"
#include "dkd/dist/env.h"
#include "dkd/dist/gradient_reducer.h"
#include "dkd/dist/launcher.h"
#include "dkd/dist/process_group.h"
#include "dkd/util/error.h"
#include "common.h"

extern char** environ;

namespace dkd_dist_test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------- helpers

std::string self_exe() { return fs::read_symlink("/proc/self/exe").string(); }

std::string getenv_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : fallback;
}

/// Sets environment variables for the scope of the object, restoring them after.
class EnvGuard {
 public:
  void set(const std::string& name, const std::string& value) {
    remember(name);
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  void unset(const std::string& name) {
    remember(name);
    ::unsetenv(name.c_str());
  }
  ~EnvGuard() {
    for (auto& [name, old] : saved_) {
      if (old.first)
        ::setenv(name.c_str(), old.second.c_str(), 1);
      else
        ::unsetenv(name.c_str());
    }
  }

 private:
  void remember(const std::string& name) {
    for (auto& s : saved_)
      if (s.first == name) return;
    const char* v = std::getenv(name.c_str());
    saved_.push_back({name, {v != nullptr, v ? v : ""}});
  }
  std::vector<std::pair<std::string, std::pair<bool, std::string>>> saved_;
};

void clear_dist_env(EnvGuard& g) {
  for (const char* n : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "LOCAL_WORLD_SIZE",
                        "TORCHELASTIC_USE_AGENT_STORE", "TORCHELASTIC_RESTART_COUNT"})
    g.unset(n);
}

using dkd::test::fresh_dir;
using dkd::test::read_text;
using dkd::test::write_text;

/// One worker process started with fork+execve; killed if still alive at destruction.
struct Proc {
  pid_t pid = -1;
  int status = 0;
  bool done = false;
  ~Proc() {
    if (pid > 0 && !done) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  /// Waits at most `seconds`; returns false on timeout.
  bool wait_for(double seconds) {
    auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
    while (!done) {
      pid_t w = ::waitpid(pid, &status, WNOHANG);
      if (w == pid) {
        done = true;
        break;
      }
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }
  int exit_code() const {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
  }
};

/// The worker executable (its path comes from CMake: DKD_DIST_WORKER_EXE).
std::vector<std::string> worker_args() {
#ifdef DKD_DIST_WORKER_EXE
  return {DKD_DIST_WORKER_EXE};
#else
  return {self_exe()};
#endif
}

/// Starts one rank of this binary in worker `mode` (stdout to dir/out_<rank>.txt).
std::unique_ptr<Proc> spawn_rank(int rank, int world, int port, const std::string& mode, const fs::path& dir,
                                 const std::vector<std::string>& extra_env = {}) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string s = *e;
    bool drop = false;
    for (const char* n : {"RANK=", "WORLD_SIZE=", "LOCAL_RANK=", "MASTER_ADDR=", "MASTER_PORT=", "DKD_DIST_"})
      if (s.rfind(n, 0) == 0) drop = true;
    if (!drop) env.push_back(s);
  }
  env.push_back("RANK=" + std::to_string(rank));
  env.push_back("LOCAL_RANK=" + std::to_string(rank));
  env.push_back("WORLD_SIZE=" + std::to_string(world));
  env.push_back("MASTER_ADDR=127.0.0.1");
  env.push_back("MASTER_PORT=" + std::to_string(port));
  env.push_back("DKD_DIST_WORKER=" + mode);
  env.push_back("DKD_DIST_DIR=" + dir.string());
  for (auto& e : extra_env) env.push_back(e);
  auto args = worker_args();
  std::vector<char*> cargs, cenv;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  for (auto& e : env) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  const std::string out = (dir / ("out_" + std::to_string(rank) + ".txt")).string();
  auto proc = std::make_unique<Proc>();
  proc->pid = ::fork();
  if (proc->pid == 0) {
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::close(fd);
    }
    ::execve(cargs[0], cargs.data(), cenv.data());
    ::_exit(127);
  }
  return proc;
}

bool wait_for_file(const fs::path& p, double seconds) {
  auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  while (!fs::exists(p)) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// ---------------------------------------------------------------- models

struct MlpImpl : torch::nn::Module {
  MlpImpl(bool with_bn) {
    fc1 = register_module("fc1", torch::nn::Linear(8, 16));
    if (with_bn) bn = register_module("bn", torch::nn::BatchNorm1d(16));
    fc2 = register_module("fc2", torch::nn::Linear(16, 3));
    unused = register_parameter("unused", torch::zeros({4}));  // never gets a gradient
  }
  torch::Tensor forward(torch::Tensor x) {
    x = fc1->forward(x);
    if (!bn.is_empty()) x = bn->forward(x);
    return fc2->forward(torch::tanh(x));
  }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  torch::nn::BatchNorm1d bn{nullptr};
  torch::Tensor unused;
};
TORCH_MODULE(Mlp);

/// The combined batch of the gradient test: 16 rows, the same on every rank.
std::pair<torch::Tensor, torch::Tensor> combined_batch() {
  auto gen = at::detail::createCPUGenerator(99);
  auto x = torch::randn({16, 8}, gen, torch::kFloat32);
  auto y = torch::randn({16, 3}, gen, torch::kFloat32);
  return {x, y};
}

dkd::DistConfig dist_config(double timeout_s, double bucket_mb = 25.0) {
  dkd::DistConfig c;
  c.backend = dkd::DistBackend::automatic;
  c.timeout_s = timeout_s;
  c.bucket_mb = bucket_mb;
  return c;
}

/// Stand-in for the pose network in the throughput measurement: a small
/// conv encoder/decoder to 13 heatmaps with batch norm.
struct BenchNetImpl : torch::nn::Module {
  BenchNetImpl() {
    auto conv = [](int in, int out, int stride) {
      return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
    };
    seq =
        register_module("seq", torch::nn::Sequential(conv(3, 32, 2), torch::nn::BatchNorm2d(32), torch::nn::ReLU(),
                                                     conv(32, 64, 2), torch::nn::BatchNorm2d(64), torch::nn::ReLU(),
                                                     conv(64, 128, 2), torch::nn::BatchNorm2d(128), torch::nn::ReLU(),
                                                     conv(128, 128, 1), torch::nn::BatchNorm2d(128), torch::nn::ReLU(),
                                                     torch::nn::Conv2d(torch::nn::Conv2dOptions(128, 13, 1))));
  }
  torch::Tensor forward(torch::Tensor x) { return seq->forward(x); }
  torch::nn::Sequential seq{nullptr};
};
TORCH_MODULE(BenchNet);

// ---------------------------------------------------------------- worker modes

void save_tensors(const std::vector<torch::Tensor>& ts, const fs::path& p) {
  std::vector<torch::Tensor> copy;
  // An undefined tensor (no gradient) is stored as an empty int8 tensor.
  for (auto& t : ts) copy.push_back(t.defined() ? t.detach().clone() : torch::empty({0}, torch::kInt8));
  torch::save(copy, p.string());
}

// K SGD steps of two parameter groups from different initial seeds.
int worker_train(dkd::DistContext& dist, const fs::path& dir) {
  const int rank = dist.rank();
  torch::manual_seed(100 + rank);  // deliberately different initial weights
  Mlp pose(true), disc(false);
  dist.broadcast_parameters(*pose);
  dist.broadcast_parameters(*disc);
  dkd::GradientReducer pose_reducer(dist, pose->parameters(), 0.0005, "pose");
  dkd::GradientReducer disc_reducer(dist, disc->parameters(), 0.0, "disc");
  torch::optim::SGD pose_opt(pose->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  torch::optim::Adam disc_opt(disc->parameters(), torch::optim::AdamOptions(1e-3));
  double k = 0.0;
  torch::manual_seed(1000 + rank);  // each rank its own data
  for (int step = 0; step < 6; ++step) {
    auto x = torch::randn({8, 8});
    auto y = torch::randn({8, 3});
    pose_opt.zero_grad();
    auto loss = torch::mse_loss(pose->forward(x), y);
    loss.backward();
    pose_reducer.reduce();
    pose_opt.step();
    disc_opt.zero_grad();
    auto dloss = torch::mse_loss(disc->forward(x), y.flip(1));
    dloss.backward();
    disc_reducer.reduce();
    disc_opt.step();
    // BEGAN-style k update from the rank-averaged balance: identical everywhere.
    double balance = 0.5 * loss.item<double>() - dloss.item<double>();
    k = std::clamp(k + 0.001 * dist.all_reduce_mean(balance), 0.0, 1.0);
  }
  dist.check_same(k, "BEGAN k");
  dist.sync_batchnorm_stats(*pose);
  std::vector<torch::Tensor> all;
  for (auto& p : pose->parameters()) all.push_back(p);
  for (auto& b : pose->buffers()) all.push_back(b);
  for (auto& p : disc->parameters()) all.push_back(p);
  all.push_back(torch::full({1}, k, torch::kFloat64));
  all.push_back(torch::full({1}, (double)pose_reducer.num_buckets(), torch::kFloat64));
  save_tensors(all, dir / ("train_" + std::to_string(rank) + ".pt"));
  // PCK-style counters: sums over ranks.
  auto hits = torch::full({3}, (double)(rank + 1), torch::kFloat64);
  auto counts = torch::full({3}, 10.0, torch::kFloat64);
  dist.all_reduce_counts(hits, counts);
  save_tensors({hits, counts}, dir / ("counts_" + std::to_string(rank) + ".pt"));
  dist.barrier();
  return 0;
}

// Gradient of this rank's half of the combined batch, averaged over ranks.
int worker_grad(dkd::DistContext& dist, const fs::path& dir) {
  const int rank = dist.rank();
  torch::manual_seed(7);
  Mlp model(false);
  auto [x, y] = combined_batch();
  const int64_t per_rank = 16 / dist.world_size();
  x = x.narrow(0, rank * per_rank, per_rank);
  y = y.narrow(0, rank * per_rank, per_rank);
  dkd::GradientReducer reducer(dist, model->parameters(), 0.0002, "pose");  // several buckets
  model->zero_grad();
  torch::mse_loss(model->forward(x), y).backward();
  reducer.reduce();
  std::vector<torch::Tensor> grads;
  for (auto& p : model->parameters()) grads.push_back(p.grad());
  grads.push_back(torch::full({1}, (double)reducer.num_buckets(), torch::kFloat64));
  save_tensors(grads, dir / ("grad_" + std::to_string(rank) + ".pt"));
  return 0;
}

// All-reduce in a loop; rank 1 announces itself and then gets killed / stopped by the test.
int worker_loop(dkd::DistContext& dist, const fs::path& dir) {
  auto t = torch::ones({1024});
  for (int i = 0;; ++i) {
    dist.all_reduce_sum(t);
    t.fill_(1.0);
    if (i == 3) write_text(dir / ("ready_" + std::to_string(dist.rank())), "1");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int worker_bench(dkd::DistContext& dist, const fs::path& dir) {
  const int threads = std::stoi(getenv_or("DKD_DIST_THREADS", "1"));
  const int global_batch = std::stoi(getenv_or("DKD_DIST_BATCH", "16"));
  const int steps = std::stoi(getenv_or("DKD_DIST_STEPS", "20"));
  const int size = std::stoi(getenv_or("DKD_DIST_SIZE", "128"));
  torch::set_num_threads(threads);
  torch::manual_seed(1);
  BenchNet net;
  dist.broadcast_parameters(*net);
  dkd::GradientReducer reducer(dist, net->parameters(), 0.0, "pose");
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
  const int batch = global_batch / dist.world_size();
  auto x = torch::randn({batch, 3, size, size});
  auto y = torch::randn({batch, 13, size / 8, size / 8});
  double comm_s = 0.0;
  Clock::time_point start;
  for (int step = -3; step < steps; ++step) {  // 3 warm-up steps
    if (step == 0) {
      dist.barrier();
      start = Clock::now();
      comm_s = 0.0;
    }
    opt.zero_grad();
    torch::mse_loss(net->forward(x), y).backward();
    auto c0 = Clock::now();
    reducer.reduce();
    comm_s += std::chrono::duration<double>(Clock::now() - c0).count();
    opt.step();
  }
  dist.barrier();
  const double total = std::chrono::duration<double>(Clock::now() - start).count();
  // Pure communication cost: the same all-reduces with both ranks already waiting.
  double pure_s = 0.0;
  for (int i = 0; i < 10; ++i) {
    dist.barrier();
    auto c0 = Clock::now();
    reducer.reduce();
    pure_s += std::chrono::duration<double>(Clock::now() - c0).count();
  }
  std::ostringstream os;
  os << total << " " << comm_s << " " << steps * global_batch / total << " " << reducer.num_elements() << " "
     << pure_s / 10 * steps;
  write_text(dir / ("bench_" + std::to_string(dist.rank()) + ".txt"), os.str());
  return 0;
}

int run_worker(const std::string& mode) {
  const fs::path dir = getenv_or("DKD_DIST_DIR", ".");
  const int rank = std::stoi(getenv_or("RANK", "0"));
  try {
    if (mode == "exit_rank1") {  // launcher test: rank 1 fails, rank 0 would run long
      if (rank == 1) return 7;
      std::this_thread::sleep_for(std::chrono::seconds(60));
      return 0;
    }
    torch::set_num_threads(1);
    const double timeout = std::stod(getenv_or("DKD_DIST_TIMEOUT", "20"));
    auto env = dkd::dist_env_from_environment();
    dkd::DistContext dist(env, dist_config(timeout), c10::Device(c10::kCPU));
    if (mode == "train") return worker_train(dist, dir);
    if (mode == "grad") return worker_grad(dist, dir);
    if (mode == "loop") return worker_loop(dist, dir);
    if (mode == "bench") return worker_bench(dist, dir);
    if (mode == "barrier") {
      dist.barrier();
      return 0;
    }
    write_text(dir / ("error_" + std::to_string(rank) + ".txt"), "unknown mode " + mode);
    return 5;
  } catch (const dkd::Error& e) {
    write_text(dir / ("error_" + std::to_string(rank) + ".txt"), e.what());
    return 3;
  } catch (const std::exception& e) {
    write_text(dir / ("error_" + std::to_string(rank) + ".txt"), std::string("non-dkd exception: ") + e.what());
    return 4;
  }
}

}  // namespace dkd_dist_test
