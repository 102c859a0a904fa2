// The trainer on a tiny synthetic set: losses fall, the discriminator and k
// update, checkpoints round-trip, an interrupted and resumed run repeats an
// uninterrupted one loss for loss, and bad runs stop with clear messages.
#include "dkd/train/trainer.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "dkd/data/dataset.h"
#include "dkd/synth/synth.h"
#include "train_fixtures.h"
#include "dkd/models/model_set.h"
#include "dkd/models/checkpoint.h"
#include "dkd/train/optim.h"
#include "dkd/train/work_dir.h"
#include "dkd/util/error.h"
#include "tool_runner.h"

namespace fs = std::filesystem;

namespace {

/// A scratch folder with a tiny synthetic Penn-format data set and a tiny config.
class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = dkd::test::per_test_dir("trainer");
    const std::string data_root = dkd::test::tiny_synth_penn(dir_, 8, 5, 160, 120, 12, 16);
    config_path_ = (dir_ / "tiny.yaml").string();
    std::ofstream(config_path_)
        << "runtime: {threads: 1, seed: 3, deterministic: true, log_level: warn}\n"
           "data:\n"
           "  dataset: penn\n"
           "  root: "
        << data_root
        << "\n"
           "  input_size: [64, 64]\n"
           "  heatmap_sigma: 1.5\n"
           "  clip_length: 3\n"
           "  stride_min: 1\n"
           "  stride_max: 2\n"
           "  workers: 1\n"
           "  rotation: 10\n"
           "model:\n"
           "  initializer: {depth: 18, width: 0.25, deconv_layers: 3, deconv_filters: 16}\n"
           "  encoder: {depth: 18, width: 0.125, stages: 2, deconv_layers: 1, deconv_filters: 16}\n"
           "  distillator: {channels: 16, kernel_size: 3}\n"
           "  discriminator: {channels: 8, embedding: 16, input_size: 16}\n"
           "train:\n"
           "  lr: 0.003\n"
           "  schedule: constant\n"
           "  log_every: 5\n"
           "  val_every: 0\n"
           "  initializer: {epochs: 100, batch_size: 8, max_iters: 40}\n"
           "  baseline: {epochs: 100, batch_size: 8, max_iters: 40}\n"
           "  dkd: {epochs: 100, batch_size: 4, max_iters: 30}\n"
           "  adversarial: {enabled: true, lambda_k: 0.05, lr: 0.001}\n"
           "  initializer_checkpoint: "
        << (dir_ / "init.pt").string() << "\n";
    // Stage dkd alone takes its initializer from a checkpoint (checked at start-up).
    dkd::ModelSet init = dkd::build_model_set(config(), torch::kCPU);
    dkd::save_checkpoint((dir_ / "init.pt").string(), {}, {{"initializer", init.initializer.ptr().get()}}, {});
  }
  void TearDown() override { fs::remove_all(dir_); }

  dkd::Config config(const std::vector<std::string>& overrides = {}) const {
    return dkd::load_config(config_path_, overrides);
  }

  static std::vector<nlohmann::json> metrics(const fs::path& work_dir, const std::string& type = "train") {
    std::vector<nlohmann::json> out;
    std::ifstream in(work_dir / "metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      auto j = nlohmann::json::parse(line);
      if (j.value("type", "") == type) out.push_back(j);
    }
    return out;
  }

  fs::path dir_;
  std::string config_path_;
};

TEST_F(TrainerTest, ValidationReadsOnlyHeldOutTrainingVideos) {
  // best.pt is chosen on videos of the training list; the test split is dkd_eval's alone.
  const dkd::Config c =
      config({"train.stages=[initializer]", "train.initializer.max_iters=2", "data.val_fraction=0.25"});
  dkd::TrainOptions o;
  o.work_dir = (dir_ / "val_split").string();
  ASSERT_EQ(dkd::run_training(c, o), 0);
  const auto vals = metrics(o.work_dir, "val");
  ASSERT_FALSE(vals.empty());
  std::set<std::string> test_ids, train_ids;
  for (const auto& v : dkd::load_split(c.data, dkd::SplitKind::test)) test_ids.insert(v.id);
  for (const auto& v : dkd::load_split(c.data, dkd::SplitKind::train)) train_ids.insert(v.id);
  for (const auto& val : vals) {
    ASSERT_GT(val["videos"].get<int>(), 0);
    for (const auto& id : val["video_ids"]) {
      EXPECT_EQ(test_ids.count(id.get<std::string>()), 0u) << id;   // never a test video
      EXPECT_EQ(train_ids.count(id.get<std::string>()), 0u) << id;  // held out of training
    }
  }
  int official_train = 0;
  for (const auto& v : dkd::load_split(c.data, dkd::SplitKind::all)) official_train += v.train ? 1 : 0;
  EXPECT_EQ(vals.front()["videos"].get<int>() + static_cast<int>(train_ids.size()), official_train);
}

TEST_F(TrainerTest, EachStageLossFalls) {
  for (const std::string stage : {"initializer", "baseline", "dkd"}) {
    const fs::path work = dir_ / ("work_" + stage);
    dkd::TrainOptions options;
    options.work_dir = work.string();
    const auto cfg = config({"train.stages=[" + stage + "]", "train.adversarial.enabled=false"});
    ASSERT_EQ(dkd::run_training(cfg, options), 0);
    const auto m = metrics(work);
    ASSERT_GE(m.size(), 4u) << stage;
    const double first = m.front()["loss_pose"].get<double>();
    const double last = m.back()["loss_pose"].get<double>();
    EXPECT_LT(last, 0.8 * first) << stage << ": loss " << first << " -> " << last;
    EXPECT_TRUE(fs::exists(work / "config.yaml"));
    EXPECT_TRUE(fs::exists(work / "log.txt"));
    EXPECT_TRUE(fs::exists(work / "last_checkpoint"));
  }
}

TEST_F(TrainerTest, StageThreadsApplyToTheirStageAndAreRestored) {
  const fs::path work = dir_ / "threads";
  dkd::TrainOptions options;
  options.work_dir = work.string();
  const auto cfg = config({"runtime.threads=2", "runtime.log_level=info", "train.stages=[baseline]",
                           "train.baseline.max_iters=2", "train.baseline.threads=1"});
  ASSERT_EQ(dkd::run_training(cfg, options), 0);
  EXPECT_EQ(at::get_num_threads(), 2);  // runtime.threads again once the stage is over
  std::ifstream in(work / "log.txt");
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("stage baseline: 1 intra-op thread(s) (train.baseline.threads)"), std::string::npos) << log;
}

TEST_F(TrainerTest, DiscriminatorAndKUpdate) {
  const fs::path work = dir_ / "work";
  dkd::TrainOptions options;
  options.work_dir = work.string();
  ASSERT_EQ(dkd::run_training(config({"train.stages=[dkd]", "train.dkd.max_iters=20", "train.adversarial.k_init=0.5"}),
                              options),
            0);
  const auto m = metrics(work);
  ASSERT_GE(m.size(), 2u);
  for (const auto& j : m) {
    for (const char* key :
         {"loss_pose", "loss_g_adv", "d_real", "d_fake", "began_k", "began_m", "lr", "clips_per_s", "data_wait_s"})
      EXPECT_TRUE(j.contains(key)) << key << " missing in " << j.dump();
  }
  EXPECT_NE(m.back()["began_k"].get<double>(), 0.5);  // k moved from its initial value
  EXPECT_NE(m.front()["d_real"].get<double>(), m.back()["d_real"].get<double>());
}

TEST_F(TrainerTest, CheckpointRoundTripsEveryState) {
  const auto cfg = config();
  dkd::ModelSet a = dkd::build_model_set(cfg, torch::kCPU);
  // Give the optimizer some state, and the BN running stats non-default values.
  auto params = a.initializer->parameters();
  auto opt = dkd::make_optimizer(params, cfg.train, 0.01);
  a.initializer->train();
  for (int i = 0; i < 2; ++i) {
    auto loss = a.initializer->forward(torch::rand({2, 3, 64, 64})).pow(2).mean();
    opt->zero_grad();
    loss.backward();
    opt->step();
  }
  dkd::CheckpointMeta meta;
  meta.stage = dkd::StageKind::dkd;
  meta.completed_stages = {dkd::StageKind::initializer};
  meta.epoch = 3;
  meta.iter_in_epoch = 7;
  meta.step = 42;
  meta.global_step = 99;
  meta.best_metric = 71.5;
  meta.best_epoch = 2;
  meta.began_k = 0.0123;
  meta.world_size = 1;
  meta.config_yaml = dkd::dump_config(cfg, false);
  const std::string path = (dir_ / "c.pt").string();
  torch::manual_seed(77);
  dkd::save_checkpoint(path, meta, a.modules(), {{"pose", opt.get()}});
  const auto expected_random = torch::rand({4});

  dkd::ModelSet b = dkd::build_model_set(cfg, torch::kCPU);
  auto opt_b = dkd::make_optimizer(b.initializer->parameters(), cfg.train, 0.01);
  torch::manual_seed(1);
  const dkd::CheckpointMeta back = dkd::load_checkpoint(path, b.modules(), {{"pose", opt_b.get()}});
  EXPECT_TRUE(torch::equal(torch::rand({4}), expected_random)) << "RNG state not restored";
  EXPECT_EQ(back.stage, dkd::StageKind::dkd);
  EXPECT_EQ(back.completed_stages, meta.completed_stages);
  EXPECT_EQ(back.epoch, 3);
  EXPECT_EQ(back.iter_in_epoch, 7);
  EXPECT_EQ(back.step, 42);
  EXPECT_EQ(back.global_step, 99);
  EXPECT_DOUBLE_EQ(back.best_metric, 71.5);
  EXPECT_EQ(back.best_epoch, 2);
  EXPECT_DOUBLE_EQ(back.began_k, 0.0123);
  EXPECT_EQ(back.config_yaml, meta.config_yaml);
  for (auto& [name, module] : a.modules()) {
    auto pa = module->named_parameters();
    auto pb = b.modules()[name]->named_parameters();
    for (const auto& p : pa) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << name << "." << p.key();
    auto ba = module->named_buffers();
    auto bb = b.modules()[name]->named_buffers();
    for (const auto& p : ba) EXPECT_TRUE(torch::equal(p.value(), bb[p.key()])) << name << "." << p.key();
  }
  // Optimizer state: one more identical step gives identical weights.
  for (auto* o : {opt.get(), opt_b.get()}) (void)o;
  torch::manual_seed(5);
  const auto x = torch::rand({2, 3, 64, 64});
  for (auto [model, o] : {std::pair{a.initializer, opt.get()}, std::pair{b.initializer, opt_b.get()}}) {
    model->train();
    auto loss = model->forward(x).pow(2).mean();
    o->zero_grad();
    loss.backward();
    o->step();
  }
  auto pa = a.initializer->parameters();
  auto pb = b.initializer->parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::allclose(pa[i], pb[i], 0, 0)) << i;

  // A truncated file is an error naming it.
  const std::string broken = (dir_ / "broken.pt").string();
  {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(broken, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  try {
    dkd::load_checkpoint(broken, b.modules(), {});
    FAIL() << "truncated checkpoint loaded";
  } catch (const dkd::Error& e) {
    EXPECT_NE(std::string(e.what()).find(broken), std::string::npos) << e.what();
  }
}

TEST_F(TrainerTest, KillAndResumeRepeatsTheUninterruptedRunLossForLoss) {
  const std::string common = " --config " + config_path_ +
                             " --set train.stages=[dkd] --set train.dkd.max_iters=24 --set train.checkpoint_every=8"
                             " --set train.log_every=1 --set train.teacher_forcing_start=0.5";
  const fs::path full = dir_ / "full";
  const auto r = dkd::test::run_tool_command("dkd_train", common + " --work-dir " + full.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;

  // The same run, killed with SIGKILL right after its first checkpoint, then resumed.
  const fs::path cut = dir_ / "cut";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string cmd =
        std::string(DKD_TOOL_DIR) + "/dkd_train" + common + " --work-dir " + cut.string() + " > /dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool killed = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(cut / "last_checkpoint")) {
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(killed) << "the run ended before its first checkpoint";
  ASSERT_TRUE(WIFSIGNALED(status));
  const auto before = metrics(cut);
  ASSERT_LT(before.size(), 24u) << "the run was not interrupted";

  const auto resumed = dkd::test::run_tool_command("dkd_train", common + " --work-dir " + cut.string() + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  const auto a = metrics(full);
  const auto b = metrics(cut);
  ASSERT_EQ(a.size(), 24u);
  ASSERT_EQ(b.size(), a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["step"], b[i]["step"]);
    for (const char* key : {"loss_pose", "loss_g_adv", "d_real", "d_fake", "began_k", "lr"})
      EXPECT_EQ(a[i][key], b[i][key]) << "step " << a[i]["step"] << " " << key;
  }
}

TEST_F(TrainerTest, NanLossStopsNamingStageIterationAndTerm) {
  const auto r = dkd::test::run_tool_command(
      "dkd_train", "--config " + config_path_ + " --work-dir " + (dir_ / "nan").string() +
                       " --set train.stages=[initializer] --set train.lr=1e30 --set train.checkpoint_every=1");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("stage initializer, iteration"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("loss term 'loss_pose'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Last good checkpoint"), std::string::npos) << r.output;
}

TEST_F(TrainerTest, SigintSavesACheckpointAndExitsCleanly) {
  const fs::path work = dir_ / "sig";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string cmd = std::string(DKD_TOOL_DIR) + "/dkd_train --config " + config_path_ + " --work-dir " +
                            work.string() +
                            " --set train.stages=[initializer] --set train.initializer.max_iters=100000"
                            " > /dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline && metrics(work).empty())
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  dkd::WorkDir wd(work.string());
  const std::string last = wd.last_checkpoint();
  ASSERT_FALSE(last.empty());
  EXPECT_NE(last.find("interrupted_step_"), std::string::npos) << last;
  const auto meta = dkd::read_checkpoint_meta(last);
  EXPECT_EQ(meta.stage, dkd::StageKind::initializer);
  EXPECT_GT(meta.step, 0);
}

TEST_F(TrainerTest, ProblemsAreReportedBeforeTraining) {
  // Missing data root.
  auto r = dkd::test::run_tool_command("dkd_train", "--config " + config_path_ + " --work-dir " +
                                                        (dir_ / "w1").string() + " --set data.root=/nonexistent/penn");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/penn"), std::string::npos) << r.output;
  // Unwritable work dir.
  r = dkd::test::run_tool_command("dkd_train", "--config " + config_path_ + " --work-dir /proc/dkd_cannot_write");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("/proc/dkd_cannot_write"), std::string::npos) << r.output;
  // Resume without a previous run.
  r = dkd::test::run_tool_command("dkd_train",
                                  "--config " + config_path_ + " --work-dir " + (dir_ / "w2").string() + " --resume");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("last_checkpoint"), std::string::npos) << r.output;
  // A data set in the other format: the joint count does not fit.
  r = dkd::test::run_tool_command(
      "dkd_train", "--config " + config_path_ + " --work-dir " + (dir_ / "w3").string() + " --set data.dataset=jhmdb");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("model.num_joints"), std::string::npos) << r.output;
}

TEST_F(TrainerTest, EncoderStartsFromTheTrainedBaseline) {
  const fs::path base_work = dir_ / "baseline";
  dkd::TrainOptions options;
  options.work_dir = base_work.string();
  ASSERT_EQ(dkd::run_training(config({"train.stages=[baseline]", "train.baseline.max_iters=5"}), options), 0);
  const std::string baseline_ckpt = (base_work / "best.pt").string();
  ASSERT_TRUE(fs::exists(baseline_ckpt));

  // A dkd run with a negligible learning rate: its encoder must hold the baseline's trunk.
  const fs::path dkd_work = dir_ / "dkd";
  options.work_dir = dkd_work.string();
  ASSERT_EQ(dkd::run_training(config({"train.stages=[dkd]", "train.dkd.max_iters=2", "train.dkd.lr=1e-12",
                                      "train.adversarial.enabled=false", "train.encoder_from_baseline=true",
                                      "train.baseline_checkpoint=" + baseline_ckpt}),
                              options),
            0);
  const auto cfg = config();
  dkd::ModelSet trained = dkd::build_model_set(cfg, torch::kCPU);
  dkd::load_model_weights(baseline_ckpt, {{"baseline", trained.baseline.ptr().get()}});
  dkd::load_model_weights((dkd_work / "best.pt").string(), {{"encoder", trained.dkd->encoder.ptr().get()}});
  dkd::ModelSet fresh = dkd::build_model_set(cfg, torch::kCPU);
  auto from = trained.baseline->backbone->named_parameters();
  auto untrained = fresh.dkd->encoder->backbone->named_parameters();
  int compared = 0;
  for (const auto& p : trained.dkd->encoder->backbone->named_parameters()) {
    EXPECT_TRUE(torch::allclose(p.value(), from[p.key()], 1e-5, 1e-7)) << p.key();
    ++compared;
  }
  EXPECT_GT(compared, 10);
  EXPECT_FALSE(torch::allclose(from["conv1.weight"], untrained["conv1.weight"]));

  // Without a baseline stage or checkpoint the config is refused before training.
  auto r =
      dkd::test::run_tool_command("dkd_train", "--config " + config_path_ + " --work-dir " + (dir_ / "w").string() +
                                                   " --set train.stages=[dkd] --set train.encoder_from_baseline=true");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("train.baseline_checkpoint"), std::string::npos) << r.output;
}

}  // namespace
