// Distributed layer (issue 8): env parsing, launcher, process group on loopback.
// Multi-rank tests start the dkd_dist_worker executable once per rank (dist_common.h).
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

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dkd/config/config.h"
#include "dkd/dist/checkpoint_meta.h"
#include "dkd/dist/env.h"
#include "dkd/dist/gradient_reducer.h"
#include "dkd/dist/launcher.h"
#include "dkd/dist/process_group.h"
#include "dkd/util/error.h"

#include "dist_common.h"

using namespace dkd_dist_test;

namespace {

std::vector<torch::Tensor> load_tensors(const fs::path& p) {
  std::vector<torch::Tensor> ts;
  torch::load(ts, p.string());
  return ts;
}

}  // namespace

// ---------------------------------------------------------------- single-process tests

TEST(DistEnv, NoVariablesMeansSingleProcess) {
  EnvGuard g;
  clear_dist_env(g);
  auto env = dkd::dist_env_from_environment();
  EXPECT_EQ(env.rank, 0);
  EXPECT_EQ(env.world_size, 1);
  EXPECT_FALSE(env.enabled());
}

TEST(DistEnv, ReadsTorchrunVariables) {
  EnvGuard g;
  clear_dist_env(g);
  g.set("RANK", "3");
  g.set("WORLD_SIZE", "4");
  g.set("LOCAL_RANK", "1");
  g.set("MASTER_ADDR", "10.0.0.1");
  g.set("MASTER_PORT", "29511");
  g.set("TORCHELASTIC_USE_AGENT_STORE", "True");
  g.set("TORCHELASTIC_RESTART_COUNT", "2");
  auto env = dkd::dist_env_from_environment();
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.world_size, 4);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.master_addr, "10.0.0.1");
  EXPECT_EQ(env.master_port, 29511);
  EXPECT_TRUE(env.use_agent_store);
  EXPECT_EQ(env.restart_count, 2);
  EXPECT_TRUE(env.enabled());
  EXPECT_EQ(env.local_world_size, 4);
  EXPECT_EQ(dkd::threads_per_rank(3, env), 3);
  EXPECT_GE(dkd::threads_per_rank(0, env), 1);
}

TEST(DistEnv, BadValuesNameTheVariable) {
  auto expect_error = [](const std::vector<std::pair<std::string, std::string>>& vars, const std::string& needle) {
    EnvGuard g;
    clear_dist_env(g);
    for (auto& [k, v] : vars) g.set(k, v);
    try {
      dkd::dist_env_from_environment();
      ADD_FAILURE() << "no error for " << needle;
    } catch (const dkd::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error({{"RANK", "x"}, {"WORLD_SIZE", "2"}}, "RANK=x");
  expect_error({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"}, {"MASTER_PORT", "1"}},
               "RANK=2 is not below WORLD_SIZE=2");
  expect_error({{"RANK", "0"}}, "WORLD_SIZE");
  expect_error({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "1"}}, "MASTER_ADDR");
  expect_error({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "70000"}},
               "MASTER_PORT=70000");
}

TEST(DistLauncher, ParsesAndStripsNproc) {
  std::vector<std::string> a = {"dkd_train", "--config", "c.yaml", "--nproc", "2", "--set", "x=1"};
  std::vector<char*> argv;
  for (auto& s : a) argv.push_back(s.data());
  std::vector<std::string> rest;
  EXPECT_EQ(dkd::parse_nproc_flag((int)argv.size(), argv.data(), &rest), 2);
  EXPECT_EQ(rest, (std::vector<std::string>{"dkd_train", "--config", "c.yaml", "--set", "x=1"}));
  std::vector<std::string> b = {"dkd_train", "--nproc=3"};
  std::vector<char*> argv_b = {b[0].data(), b[1].data()};
  EXPECT_EQ(dkd::parse_nproc_flag(2, argv_b.data(), &rest), 3);
  EXPECT_EQ(rest, std::vector<std::string>{"dkd_train"});
  std::vector<std::string> c = {"dkd_train", "--nproc", "zero"};
  std::vector<char*> argv_c = {c[0].data(), c[1].data(), c[2].data()};
  EXPECT_THROW(dkd::parse_nproc_flag(3, argv_c.data(), &rest), dkd::UsageError);
}

TEST(DistCheckpoint, RefusesAnotherWorldSize) {
  nlohmann::json meta;
  dkd::store_world_size(meta, 2);
  EXPECT_NO_THROW(dkd::check_resume_world_size(meta, 2, "run/last.pt"));
  try {
    dkd::check_resume_world_size(meta, 4, "run/last.pt");
    ADD_FAILURE() << "no error";
  } catch (const dkd::UsageError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("run/last.pt"), std::string::npos) << msg;
    EXPECT_NE(msg.find("world size 2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("world size 4"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--nproc 2"), std::string::npos) << msg;
  }
  EXPECT_NO_THROW(dkd::check_resume_world_size(nlohmann::json::object(), 1, "old.pt"));
  EXPECT_THROW(dkd::check_resume_world_size(nlohmann::json::object(), 2, "old.pt"), dkd::UsageError);
}

TEST(DistContext, SingleProcessIsANoOp) {
  dkd::DistContext dist;
  EXPECT_FALSE(dist.enabled());
  EXPECT_EQ(dist.world_size(), 1);
  EXPECT_EQ(dist.backend(), "none");
  torch::manual_seed(3);
  Mlp m(true);
  m->zero_grad();
  torch::mse_loss(m->forward(torch::randn({4, 8})), torch::zeros({4, 3})).backward();
  auto before = m->fc1->weight.grad().clone();
  dkd::GradientReducer r(dist, m->parameters());
  r.reduce();
  EXPECT_TRUE(m->fc1->weight.grad().equal(before));
  EXPECT_FALSE(m->unused.grad().defined());
  auto t = torch::ones({3});
  dist.all_reduce_sum(t);
  EXPECT_TRUE(t.equal(torch::ones({3})));
  EXPECT_DOUBLE_EQ(dist.all_reduce_mean(2.5), 2.5);
  dist.barrier();
  dist.broadcast_parameters(*m);
  dist.sync_batchnorm_stats(*m);
}

TEST(DistContext, BackendChoiceIsChecked) {
  EXPECT_EQ(dkd::resolve_backend(dkd::DistBackend::automatic, c10::Device(c10::kCPU)), "gloo");
  EXPECT_EQ(dkd::resolve_backend(dkd::DistBackend::gloo, c10::Device(c10::kCPU)), "gloo");
  try {
    dkd::resolve_backend(dkd::DistBackend::nccl, c10::Device(c10::kCPU));
    ADD_FAILURE() << "no error";
  } catch (const dkd::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("dist.backend"), std::string::npos) << e.what();
  }
}

TEST(DistContext, MissingPeerFailsRendezvousWithinTimeout) {
  dkd::DistEnv env;
  env.rank = 0;
  env.world_size = 2;
  env.master_addr = "127.0.0.1";
  env.master_port = dkd::find_free_port();
  auto t0 = Clock::now();
  try {
    dkd::DistContext dist(env, dist_config(1.0), c10::Device(c10::kCPU));
    ADD_FAILURE() << "rendezvous without rank 1 succeeded";
  } catch (const dkd::Error& e) {
    EXPECT_NE(std::string(e.what()).find("rendezvous"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("dist.timeout_s"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 10.0);
}

// ---------------------------------------------------------------- two ranks on loopback

TEST(DistTwoRanks, LauncherRanksEndWithIdenticalParameters) {
  const fs::path dir = fresh_dir("dist_train");
  EnvGuard g;
  clear_dist_env(g);
  g.set("DKD_DIST_WORKER", "train");
  g.set("DKD_DIST_DIR", dir.string());
  g.set("DKD_DIST_TIMEOUT", "20");
  dkd::LaunchOptions opts;
  opts.executable = worker_args().front();  // the launcher would otherwise re-run this test binary
  opts.kill_grace_s = 2.0;
  const int rc = dkd::launch_local_ranks(2, worker_args(), opts);
  ASSERT_EQ(rc, 0) << read_text(dir / "error_0.txt") << read_text(dir / "error_1.txt") << read_text(dir / "out_0.txt");
  auto a = load_tensors(dir / "train_0.pt");
  auto b = load_tensors(dir / "train_1.pt");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a[i].equal(b[i])) << "tensor " << i << " differs between ranks";
  // Training moved the weights away from rank 0's initial ones.
  torch::manual_seed(100);
  Mlp init(true);
  auto init_params = init->parameters();
  size_t w = 0;
  while (w < init_params.size() && !init_params[w].is_same(init->fc1->weight)) ++w;
  ASSERT_LT(w, init_params.size());
  EXPECT_EQ(a[w].sizes(), init->fc1->weight.sizes());
  EXPECT_FALSE(a[w].equal(init->fc1->weight)) << "weights did not move";
  EXPECT_GT(a[a.size() - 1].item<double>(), 1.0) << "pose reducer should use several buckets";
  auto counts = load_tensors(dir / "counts_1.pt");
  EXPECT_TRUE(counts[0].equal(torch::full({3}, 3.0, torch::kFloat64)));
  EXPECT_TRUE(counts[1].equal(torch::full({3}, 20.0, torch::kFloat64)));
  fs::remove_all(dir);
}

TEST(DistTwoRanks, AveragedGradientEqualsCombinedBatchGradient) {
  const fs::path dir = fresh_dir("dist_grad");
  const int port = dkd::find_free_port();
  auto r0 = spawn_rank(0, 2, port, "grad", dir);
  auto r1 = spawn_rank(1, 2, port, "grad", dir);
  ASSERT_TRUE(r0->wait_for(60)) << "rank 0 did not finish";
  ASSERT_TRUE(r1->wait_for(10)) << "rank 1 did not finish";
  ASSERT_EQ(r0->exit_code(), 0) << read_text(dir / "error_0.txt");
  ASSERT_EQ(r1->exit_code(), 0) << read_text(dir / "error_1.txt");

  torch::manual_seed(7);
  Mlp model(false);
  auto [x, y] = combined_batch();
  model->zero_grad();
  torch::mse_loss(model->forward(x), y).backward();
  auto params = model->parameters();
  for (int r = 0; r < 2; ++r) {
    auto g = load_tensors(dir / ("grad_" + std::to_string(r) + ".pt"));
    ASSERT_EQ(g.size(), params.size() + 1);
    EXPECT_GT(g.back().item<double>(), 1.0) << "several buckets expected";
    for (size_t i = 0; i < params.size(); ++i) {
      if (!params[i].grad().defined()) {
        EXPECT_EQ(g[i].numel(), 0) << "parameter " << i << " should have no gradient";
        continue;
      }
      ASSERT_EQ(g[i].sizes(), params[i].sizes()) << "parameter " << i;
      EXPECT_LT((g[i] - params[i].grad()).abs().max().item<double>(), 1e-5) << "parameter " << i;
    }
  }
  fs::remove_all(dir);
}

TEST(DistTwoRanks, KilledRankEndsTheOtherWithinTimeout) {
  const fs::path dir = fresh_dir("dist_kill");
  const int port = dkd::find_free_port();
  auto r0 = spawn_rank(0, 2, port, "loop", dir, {"DKD_DIST_TIMEOUT=5"});
  auto r1 = spawn_rank(1, 2, port, "loop", dir, {"DKD_DIST_TIMEOUT=5"});
  ASSERT_TRUE(wait_for_file(dir / "ready_1", 30)) << read_text(dir / "error_1.txt");
  ::kill(r1->pid, SIGKILL);
  auto t0 = Clock::now();
  ASSERT_TRUE(r0->wait_for(15)) << "rank 0 hangs after its peer was killed";
  const double took = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_LE(took, 5.0 + 2.0);
  EXPECT_EQ(r0->exit_code(), 3);
  const std::string msg = read_text(dir / "error_0.txt");
  EXPECT_NE(msg.find("rank 1"), std::string::npos) << msg;
  std::cerr << "[ rank 0 after kill, " << took << " s ] " << msg << "\n";
  fs::remove_all(dir);
}

TEST(DistTwoRanks, HungRankEndsTheOtherWithinTimeout) {
  const fs::path dir = fresh_dir("dist_hang");
  const int port = dkd::find_free_port();
  auto r0 = spawn_rank(0, 2, port, "loop", dir, {"DKD_DIST_TIMEOUT=2"});
  auto r1 = spawn_rank(1, 2, port, "loop", dir, {"DKD_DIST_TIMEOUT=2"});
  ASSERT_TRUE(wait_for_file(dir / "ready_1", 30)) << read_text(dir / "error_1.txt");
  ::kill(r1->pid, SIGSTOP);  // alive but silent
  auto t0 = Clock::now();
  ASSERT_TRUE(r0->wait_for(12)) << "rank 0 hangs on a stopped peer";
  const double took = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_LE(took, 2.0 + 6.0);  // timeout plus slack for a loaded 2-core machine
  EXPECT_EQ(r0->exit_code(), 3);
  const std::string msg = read_text(dir / "error_0.txt");
  EXPECT_NE(msg.find("rank 1 did not answer within 2 s"), std::string::npos) << msg;
  std::cerr << "[ rank 0 after SIGSTOP, " << took << " s ] " << msg << "\n";
  ::kill(r1->pid, SIGKILL);
  fs::remove_all(dir);
}

TEST(DistLauncher, PropagatesFailingRankExitCode) {
  const fs::path dir = fresh_dir("dist_launch");
  EnvGuard g;
  clear_dist_env(g);
  g.set("DKD_DIST_WORKER", "exit_rank1");
  g.set("DKD_DIST_DIR", dir.string());
  dkd::LaunchOptions opts;
  opts.executable = worker_args().front();  // the launcher would otherwise re-run this test binary
  opts.kill_grace_s = 2.0;
  auto t0 = Clock::now();
  const int rc = dkd::launch_local_ranks(2, worker_args(), opts);
  const double took = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(rc, 7);
  EXPECT_LT(took, 20.0) << "rank 0 should have been stopped after rank 1 failed";
  fs::remove_all(dir);
}

TEST(DistLauncher, RefusesToNestInsideTorchrun) {
  EnvGuard g;
  clear_dist_env(g);
  g.set("WORLD_SIZE", "2");
  EXPECT_THROW(dkd::launch_local_ranks(2, worker_args()), dkd::UsageError);
}

// Throughput of 1 process x 2 threads vs 2 processes x 1 thread on a stand-in
// pose network (same global batch). Run with:
//   dkd_tests --gtest_filter='DistBench.*' --gtest_also_run_disabled_tests
TEST(DistBench, DISABLED_Throughput) {
  const std::string steps = getenv_or("DKD_DIST_STEPS", "20");
  const std::string batch = getenv_or("DKD_DIST_BATCH", "16");
  const int repeats = std::stoi(getenv_or("DKD_DIST_REPEATS", "3"));
  struct Result {
    double total = 0, comm = 0, rate = 0, numel = 0, pure = 0;
  };
  auto read_result = [](const fs::path& f) {
    Result r;
    std::istringstream in(read_text(f));
    in >> r.total >> r.comm >> r.rate >> r.numel >> r.pure;
    return r;
  };
  auto print = [](const std::string& label, const Result& r) {
    std::cout << label << ": " << r.rate << " samples/s, " << r.total << " s, gradient all-reduce " << r.comm << " s ("
              << 100.0 * r.comm / r.total << "%, of which pure transfer " << r.pure << " s), " << r.numel
              << " parameters\n";
  };
  std::vector<double> one, two;
  for (int rep = 0; rep < repeats; ++rep) {  // interleaved, to share any background load
    const fs::path dir1 = fresh_dir("dist_bench1");
    {
      const int port = dkd::find_free_port();
      auto p = spawn_rank(0, 1, port, "bench", dir1,
                          {"DKD_DIST_THREADS=2", "DKD_DIST_STEPS=" + steps, "DKD_DIST_BATCH=" + batch});
      ASSERT_TRUE(p->wait_for(300));
      ASSERT_EQ(p->exit_code(), 0) << read_text(dir1 / "error_0.txt");
    }
    const fs::path dir2 = fresh_dir("dist_bench2");
    {
      const int port = dkd::find_free_port();
      auto p0 = spawn_rank(0, 2, port, "bench", dir2,
                           {"DKD_DIST_THREADS=1", "DKD_DIST_STEPS=" + steps, "DKD_DIST_BATCH=" + batch});
      auto p1 = spawn_rank(1, 2, port, "bench", dir2,
                           {"DKD_DIST_THREADS=1", "DKD_DIST_STEPS=" + steps, "DKD_DIST_BATCH=" + batch});
      ASSERT_TRUE(p0->wait_for(300));
      ASSERT_TRUE(p1->wait_for(30));
      ASSERT_EQ(p0->exit_code(), 0) << read_text(dir2 / "error_0.txt");
      ASSERT_EQ(p1->exit_code(), 0) << read_text(dir2 / "error_1.txt");
    }
    auto a = read_result(dir1 / "bench_0.txt");
    auto b = read_result(dir2 / "bench_0.txt");
    std::cout << "run " << rep + 1 << "/" << repeats << " (global batch " << batch << ", " << steps << " steps)\n";
    print("  1 process  x 2 threads", a);
    print("  2 processes x 1 thread ", b);
    one.push_back(a.rate);
    two.push_back(b.rate);
    fs::remove_all(dir1);
    fs::remove_all(dir2);
  }
  std::sort(one.begin(), one.end());
  std::sort(two.begin(), two.end());
  std::cout << "median samples/s: 1x2 " << one[one.size() / 2] << ", 2x1 " << two[two.size() / 2] << ", ratio 2x1/1x2 "
            << two[two.size() / 2] / one[one.size() / 2] << "\n";
}
