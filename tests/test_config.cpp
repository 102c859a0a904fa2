#include "dkd/config/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common.h"
#include "dkd/util/error.h"

namespace fs = std::filesystem;

namespace {

/// A scratch folder for config files, removed at the end of the test.
class ConfigFiles : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = dkd::test::per_test_dir("config"); }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }

  /// The ConfigError message of loading `path` with `overrides` ("" when it loads).
  static std::string error_of(const std::string& path, const std::vector<std::string>& overrides = {}) {
    try {
      dkd::load_config(path, overrides);
    } catch (const dkd::ConfigError& e) {
      return e.what();
    }
    return "";
  }

  fs::path dir_;
};

TEST_F(ConfigFiles, LoadsTypedValues) {
  const auto path = write("a.yaml",
                          "runtime: {threads: 2, seed: 7, deterministic: yes}\n"
                          "data: {input_size: [128, 96], heatmap_sigma: 1.5}\n"
                          "model: {encoder: {depth: 34, width: 0.5}}\n"
                          "train: {lr: 0.01, stages: [initializer, dkd], dkd: {epochs: 3, lr: 0.002}}\n");
  const dkd::Config c = dkd::load_config(path);
  EXPECT_EQ(c.runtime.threads, 2);
  EXPECT_EQ(c.runtime.seed, 7);
  EXPECT_TRUE(c.runtime.deterministic);
  EXPECT_EQ(c.data.input_size, (std::vector<int>{128, 96}));
  EXPECT_DOUBLE_EQ(c.data.heatmap_sigma, 1.5);
  EXPECT_EQ(c.model.encoder.depth, 34);
  EXPECT_DOUBLE_EQ(c.model.encoder.width, 0.5);
  EXPECT_EQ(c.model.initializer.depth, 50);  // untouched default
  EXPECT_DOUBLE_EQ(c.train.lr, 0.01);
  EXPECT_EQ(c.train.dkd.epochs, 3);
  ASSERT_TRUE(c.train.dkd.lr.has_value());
  EXPECT_DOUBLE_EQ(*c.train.dkd.lr, 0.002);
  EXPECT_FALSE(c.train.initializer.lr.has_value());
  EXPECT_EQ(c.source_path, path);
}

TEST_F(ConfigFiles, BaseChainsMergeDeeplyInOrder) {
  write("base/root.yaml", "train: {lr: 0.1, optimizer: sgd}\nmodel: {encoder: {depth: 34, width: 0.5}}\n");
  write("base/mid.yaml", "_base_: root.yaml\ntrain: {lr: 0.2}\nmodel: {encoder: {depth: 50}}\n");
  const auto leaf = write("leaf.yaml", "_base_: base/mid.yaml\ntrain: {momentum: 0.5}\n");
  const dkd::Config c = dkd::load_config(leaf);
  EXPECT_DOUBLE_EQ(c.train.lr, 0.2);                      // mid overrides root
  EXPECT_EQ(c.train.optimizer, dkd::OptimizerKind::sgd);  // from root
  EXPECT_DOUBLE_EQ(c.train.momentum, 0.5);                // from leaf
  EXPECT_EQ(c.model.encoder.depth, 50);                   // mid
  EXPECT_DOUBLE_EQ(c.model.encoder.width, 0.5);           // root, kept by the deep merge
}

TEST_F(ConfigFiles, ListOfBasesAppliesLeftToRight) {
  write("a.yaml", "train: {lr: 0.1, gamma: 0.5}\n");
  write("b.yaml", "train: {lr: 0.3}\n");
  const auto leaf = write("c.yaml", "_base_: [a.yaml, b.yaml]\n");
  const dkd::Config c = dkd::load_config(leaf);
  EXPECT_DOUBLE_EQ(c.train.lr, 0.3);
  EXPECT_DOUBLE_EQ(c.train.gamma, 0.5);
}

TEST_F(ConfigFiles, BaseCycleAndMissingBaseAreErrors) {
  write("x.yaml", "_base_: y.yaml\n");
  const auto y = write("y.yaml", "_base_: x.yaml\n");
  EXPECT_NE(error_of(y).find("cycle"), std::string::npos);
  const auto z = write("z.yaml", "_base_: nowhere.yaml\n");
  const std::string e = error_of(z);
  EXPECT_NE(e.find("nowhere.yaml"), std::string::npos) << e;
  EXPECT_NE(e.find("z.yaml"), std::string::npos) << e;
}

TEST_F(ConfigFiles, OverridesApplyInOrderAndParseYamlValues) {
  const auto path = write("a.yaml", "train: {lr: 0.1}\n");
  const dkd::Config c =
      dkd::load_config(path, {"train.lr=0.5", "train.lr=0.25", "data.input_size=[64, 64]", "train.stages=[dkd]",
                              "model.encoder.pretrained=/tmp/r18.pth", "train.dkd.lr=0.003"});
  EXPECT_DOUBLE_EQ(c.train.lr, 0.25);
  EXPECT_EQ(c.data.input_size, (std::vector<int>{64, 64}));
  EXPECT_EQ(c.train.stages, (std::vector<dkd::StageKind>{dkd::StageKind::dkd}));
  EXPECT_EQ(c.model.encoder.pretrained, "/tmp/r18.pth");
  EXPECT_DOUBLE_EQ(*c.train.dkd.lr, 0.003);
}

TEST_F(ConfigFiles, WrongTypeNamesKeyTypeAndValue) {
  const auto path = write("a.yaml", "");
  const std::string e = error_of(path, {"train.lr=abc"});
  EXPECT_NE(e.find("train.lr"), std::string::npos) << e;
  EXPECT_NE(e.find("number"), std::string::npos) << e;
  EXPECT_NE(e.find("abc"), std::string::npos) << e;
  EXPECT_NE(e.find("--set"), std::string::npos) << e;

  const auto file = write("b.yaml", "runtime:\n  threads: two\n");
  const std::string f = error_of(file);
  EXPECT_NE(f.find("runtime.threads"), std::string::npos) << f;
  EXPECT_NE(f.find("integer"), std::string::npos) << f;
  EXPECT_NE(f.find("b.yaml"), std::string::npos) << f;

  EXPECT_NE(error_of(path, {"data.flip=maybe"}).find("true or false"), std::string::npos);
  EXPECT_NE(error_of(path, {"data.input_size=256"}).find("list of 2"), std::string::npos);
  EXPECT_NE(error_of(path, {"model=3"}).find("mapping"), std::string::npos);
}

TEST_F(ConfigFiles, OutOfRangeNamesKeyRangeAndValue) {
  const auto path = write("a.yaml", "");
  std::string e = error_of(path, {"train.lr=-1"});
  EXPECT_NE(e.find("train.lr"), std::string::npos) << e;
  EXPECT_NE(e.find("> 0"), std::string::npos) << e;
  EXPECT_NE(e.find("-1"), std::string::npos) << e;

  e = error_of(path, {"data.clip_length=1"});
  EXPECT_NE(e.find("[2, 64]"), std::string::npos) << e;

  e = error_of(path, {"model.encoder.depth=19"});
  EXPECT_NE(e.find("one of 18, 34, 50, 101, 152"), std::string::npos) << e;

  e = error_of(path, {"train.optimizer=adamw"});
  EXPECT_NE(e.find("adam, sgd or rmsprop"), std::string::npos) << e;
  EXPECT_NE(e.find("adamw"), std::string::npos) << e;

  e = error_of(path, {"data.input_size=[256, 250]"});
  EXPECT_NE(e.find("multiples of 32"), std::string::npos) << e;

  e = error_of(path, {"data.stride_min=3", "data.stride_max=2"});
  EXPECT_NE(e.find("data.stride_min"), std::string::npos) << e;
}

TEST_F(ConfigFiles, CrossFieldRulesOfThePriorAndDistillationNameTheKey) {
  const auto path = write("a.yaml", "");
  // 13 joints: a grouped head needs a multiple of 13 hidden channels.
  std::string e = error_of(path, {"model.distillator.prior=warped", "model.distillator.prior_fusion=grouped",
                                  "model.distillator.prior_channels=16"});
  EXPECT_NE(e.find("model.distillator.prior_channels"), std::string::npos) << e;
  EXPECT_NE(e.find("16"), std::string::npos) << e;
  EXPECT_EQ(error_of(path, {"model.distillator.prior=warped", "model.distillator.prior_fusion=grouped",
                            "model.distillator.prior_channels=52"}),
            "");
  e = error_of(path, {"model.distillator.prior=warped", "model.distillator.prior_fusion=grouped",
                      "model.distillator.prior_channels=52", "model.distillator.prior_features=true"});
  EXPECT_NE(e.find("model.distillator.prior_features"), std::string::npos) << e;
  e = error_of(path, {"train.initializer_targets=0.5", "train.freeze_initializer=false"});
  EXPECT_NE(e.find("train.initializer_targets"), std::string::npos) << e;
  EXPECT_EQ(error_of(path, {"train.initializer_targets=0.5"}), "");
  EXPECT_NE(error_of(path, {"train.initializer_targets=1.5"}).find("train.initializer_targets"), std::string::npos);
}

TEST_F(ConfigFiles, BFloat16PrecisionNeedsThePackedCpuPath) {
  const auto path = write("a.yaml", "");
  EXPECT_EQ(error_of(path, {"infer.precision=bfloat16"}), "");
  std::string e = error_of(path, {"infer.precision=bfloat16", "infer.packed_inference=false"});
  EXPECT_NE(e.find("infer.precision"), std::string::npos) << e;
  EXPECT_NE(e.find("infer.packed_inference"), std::string::npos) << e;
  e = error_of(path, {"infer.precision=bfloat16", "runtime.device=cuda"});
  EXPECT_NE(e.find("runtime.device"), std::string::npos) << e;
  e = error_of(path, {"train.dkd.precision=bfloat16"});
  EXPECT_NE(e.find("train.dkd.precision"), std::string::npos) << e;
  EXPECT_EQ(error_of(path, {"train.initializer.precision=bfloat16", "train.baseline.precision=bfloat16"}), "");
  e = error_of(path, {"infer.precision=float16"});
  EXPECT_NE(e.find("infer.precision"), std::string::npos) << e;
  EXPECT_NE(e.find("float16"), std::string::npos) << e;
}

TEST_F(ConfigFiles, NamedVariantsAreParsedOnceByName) {
  const auto path =
      write("kinds.yaml", "train: {stages: [baseline, dkd]}\nmodel: {distillator: {matching: depthwise}}\n");
  const dkd::Config c = dkd::load_config(path, {"data.dataset=jhmdb", "model.num_joints=15"});
  EXPECT_EQ(c.data.dataset, "jhmdb");
  EXPECT_EQ(c.train.stages, (std::vector<dkd::StageKind>{dkd::StageKind::baseline, dkd::StageKind::dkd}));
  EXPECT_EQ(c.model.distillator.matching, dkd::MatchingKind::depthwise);
  // Written back by name, so the dump loads to the same values.
  const std::string yaml = dkd::dump_config(c, false);
  EXPECT_NE(yaml.find("stages: [baseline, dkd]"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("dataset: jhmdb"), std::string::npos) << yaml;

  // A wrong name: the key, where it came from, the valid names and the value.
  std::string e = error_of(path, {"data.dataset=coco"});
  EXPECT_NE(e.find("data.dataset"), std::string::npos) << e;
  EXPECT_NE(e.find("penn or jhmdb"), std::string::npos) << e;
  EXPECT_NE(e.find("'coco'"), std::string::npos) << e;
  e = error_of(write("bad_stage.yaml", "train: {stages: [initializer, distill]}\n"));
  EXPECT_NE(e.find("train.stages[1]"), std::string::npos) << e;
  EXPECT_NE(e.find("initializer, baseline, dkd or box"), std::string::npos) << e;
  EXPECT_NE(e.find("bad_stage.yaml"), std::string::npos) << e;
  e = error_of(path, {"model.distillator.matching=full"});
  EXPECT_NE(e.find("per_joint or depthwise"), std::string::npos) << e;
}

TEST_F(ConfigFiles, EarlierNamesOfThePerFrameNetworksAreStillRead) {
  // One name per network (initializer, baseline); the earlier ones load with a note.
  const dkd::Config c = dkd::load_config(write("old_names.yaml", "train: {stages: [large, per_frame_small, dkd]}\n"));
  EXPECT_EQ(c.train.stages,
            (std::vector<dkd::StageKind>{dkd::StageKind::initializer, dkd::StageKind::baseline, dkd::StageKind::dkd}));
  EXPECT_NE(dkd::dump_config(c, false).find("stages: [initializer, baseline, dkd]"), std::string::npos);
  EXPECT_EQ(dkd::parse_kind<dkd::ModelKind>("per_frame_large", "--model"), dkd::ModelKind::initializer);
  EXPECT_EQ(dkd::parse_kind<dkd::ModelKind>("small", "--model"), dkd::ModelKind::baseline);
  // Only the current names are offered.
  const std::string e = error_of(write("typo.yaml", "train: {stages: [larg]}\n"));
  EXPECT_NE(e.find("initializer, baseline, dkd or box"), std::string::npos) << e;
  EXPECT_EQ(e.find("per_frame_large"), std::string::npos) << e;
}

TEST(Kinds, EveryConfigVariantIsANamedEnumReadAndWrittenByName) {
  // The closed sets of names in the config are enums: a wrong name is refused at
  // load with the key and the valid names; the dump writes the name back.
  const std::vector<std::pair<std::string, std::string>> fields = {{"runtime.log_level", "warn"},
                                                                   {"model.initializer.deconv_impl", "subpixel"},
                                                                   {"model.distillator.prior", "warped"},
                                                                   {"model.distillator.prior_fusion", "pointwise"},
                                                                   {"model.distillator.kernels", "joint_centred"},
                                                                   {"model.distillator.norm", "group"},
                                                                   {"train.initializer.precision", "bfloat16"},
                                                                   {"train.optimizer", "sgd"},
                                                                   {"train.schedule", "cosine"},
                                                                   {"eval.split", "val"},
                                                                   {"eval.decode", "argmax"},
                                                                   {"eval.boxes", "tracked"},
                                                                   {"dist.backend", "gloo"},
                                                                   {"infer.box_rule", "extent"}};
  for (const auto& [key, value] : fields) {
    const dkd::Config c = dkd::load_config_from_string("{}", {key + "=" + value}, "t");
    const std::string leaf = key.substr(key.rfind('.') + 1);
    EXPECT_NE(dkd::dump_config(c, false).find(leaf + ": " + value), std::string::npos) << key;
    const std::string e = dkd::test::error_of([&] { dkd::load_config_from_string("{}", {key + "=nonsense"}, "t"); });
    EXPECT_NE(e.find(key), std::string::npos) << e;
    EXPECT_NE(e.find("'nonsense'"), std::string::npos) << e;
  }
}

TEST(Kinds, NamesRoundTripAndUnknownNamesNameTheKey) {
  for (const auto& name : dkd::kind_names<dkd::StageKind>())
    EXPECT_EQ(dkd::name_of(dkd::parse_kind<dkd::StageKind>(name, "k")), name);
  EXPECT_EQ(dkd::pose_model_of(dkd::StageKind::baseline), dkd::ModelKind::baseline);
  EXPECT_EQ(dkd::pose_model_of(dkd::StageKind::dkd), dkd::ModelKind::dkd);
  EXPECT_FALSE(dkd::pose_model_of(dkd::StageKind::box).has_value());  // the box network serves every model
  try {
    dkd::parse_kind<dkd::ModelKind>("largest", "--model");
    FAIL() << "no exception";
  } catch (const dkd::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "--model: expected dkd, initializer or baseline, got 'largest'");
  }
}

TEST_F(ConfigFiles, UnknownKeysSuggestTheClosest) {
  const auto path = write("a.yaml", "");
  std::string e = error_of(path, {"train.lrr=0.1"});
  EXPECT_NE(e.find("train.lrr"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean train.lr?"), std::string::npos) << e;

  const auto file = write("b.yaml", "model:\n  encoder:\n    dept: 18\n");
  e = error_of(file);
  EXPECT_NE(e.find("model.encoder.dept"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean model.encoder.depth?"), std::string::npos) << e;
  EXPECT_NE(e.find("b.yaml"), std::string::npos) << e;

  e = error_of(path, {"trian.lr=0.1"});
  EXPECT_NE(e.find("trian"), std::string::npos) << e;

  e = error_of(path, {"zzzzzzzz.qqqqqqqq=1"});
  EXPECT_NE(e.find("unknown key"), std::string::npos) << e;
  EXPECT_EQ(e.find("did you mean"), std::string::npos) << e;
}

TEST_F(ConfigFiles, MissingFileAndSyntaxErrorsNameThePath) {
  const std::string missing = (dir_ / "nope.yaml").string();
  std::string e = error_of(missing);
  EXPECT_NE(e.find(missing), std::string::npos) << e;
  const auto bad = write("bad.yaml", "train: {lr: [1, 2\n");
  e = error_of(bad);
  EXPECT_NE(e.find("bad.yaml"), std::string::npos) << e;
  EXPECT_NE(e.find("YAML"), std::string::npos) << e;
  EXPECT_NE(error_of(bad, {"novalue"}).find("bad.yaml"), std::string::npos);
}

TEST_F(ConfigFiles, MalformedOverride) {
  const auto path = write("a.yaml", "");
  EXPECT_NE(error_of(path, {"train.lr"}).find("key.path=value"), std::string::npos);
  EXPECT_NE(error_of(path, {"train..lr=1"}).find("empty component"), std::string::npos);
  EXPECT_NE(error_of(path, {"train.lr.x=1"}).find("train.lr: expected a number"), std::string::npos);
  EXPECT_NE(error_of(path, {"train.lr=0.1", "train.lr.x=1"}).find("not a section"), std::string::npos);
}

TEST_F(ConfigFiles, JointCountMustFitTheDataset) {
  const auto path = write("a.yaml", "data: {dataset: jhmdb}\n");
  const std::string e = error_of(path);
  EXPECT_NE(e.find("model.num_joints"), std::string::npos) << e;
  EXPECT_NO_THROW(dkd::load_config(path, {"model.num_joints=15"}));
}

TEST(ConfigDump, RoundTripGivesAnEqualConfig) {
  dkd::Config c;
  c.train.lr = 0.0001234;
  c.train.dkd.lr = 3e-4;
  c.train.stages = {dkd::StageKind::baseline};
  c.data.input_size = {96, 128};
  c.model.encoder.width = 0.3;
  c.model.encoder.pretrained = "weights/with space.pth";
  c.train.work_dir = "";
  c.infer.box_smoothing = 0.1 + 0.2;  // not exactly representable in short form
  c.runtime.seed = 123456789012LL;
  const std::string text = dkd::dump_config(c);
  const dkd::Config back = dkd::load_config_from_string(text);
  EXPECT_TRUE(back == c) << text;
  EXPECT_DOUBLE_EQ(back.infer.box_smoothing, 0.1 + 0.2);
  EXPECT_EQ(back.model.encoder.pretrained, "weights/with space.pth");
  EXPECT_FALSE(back.train.initializer.lr.has_value());
  // A change is visible to the comparison.
  dkd::Config other = back;
  other.eval.flip_test = !other.eval.flip_test;
  EXPECT_FALSE(other == c);
}

TEST(ConfigDump, ApplyOverridesOnALoadedConfig) {
  dkd::Config c;
  const dkd::Config d = dkd::apply_overrides(c, {"train.lr=0.5"});
  EXPECT_DOUBLE_EQ(d.train.lr, 0.5);
  EXPECT_THROW(dkd::apply_overrides(c, {"train.lrr=1"}), dkd::ConfigError);
}

TEST(ConfigKeys, ListsEveryLeafAndSuggests) {
  const auto keys = dkd::config_keys();
  EXPECT_NE(std::find(keys.begin(), keys.end(), "train.lr"), keys.end());
  EXPECT_NE(std::find(keys.begin(), keys.end(), "model.encoder.depth"), keys.end());
  EXPECT_EQ(dkd::suggest_key("train.lrr"), "train.lr");
  EXPECT_EQ(dkd::suggest_key("data.input_sise"), "data.input_size");
  const std::string md = dkd::config_reference_markdown();
  EXPECT_NE(md.find("`train.lr`"), std::string::npos);
}

TEST_F(ConfigFiles, ShippedConfigsLoad) {
  const fs::path configs = fs::path(DKD_SOURCE_DIR) / "configs";
  int loaded = 0;
  for (const auto& entry : fs::recursive_directory_iterator(configs)) {
    if (entry.path().extension() != ".yaml") continue;
    EXPECT_NO_THROW(dkd::load_config(entry.path().string())) << entry.path();
    ++loaded;
  }
  EXPECT_GE(loaded, 3);
}

}  // namespace
