#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <unistd.h>

#include "common.h"
#include "dkd/models/backbone.h"
#include "dkd/models/per_frame_model.h"
#include "dkd/models/weights.h"
#include "dkd/util/error.h"

namespace {

namespace fs = std::filesystem;

dkd::BackboneConfig tiny() {
  dkd::BackboneConfig c;
  c.width = 0.0625;
  c.deconv_filters = 4;
  return c;
}

std::string temp_path(const std::string& name) {
  static const std::string dir = dkd::test::fresh_dir("weights");  // one folder for the whole run
  return dir + "/" + name;
}

/// A state_dict as Python's torch.save writes it: an (Ordered)Dict str -> Tensor
/// pickled in the zip format, written here with LibTorch's own pickle saver.
void write_python_state_dict(const dkd::StateDict& tensors, const std::string& path) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [k, v] : tensors) dict.insert(k, v);
  auto bytes = torch::pickle_save(dict);
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(Weights, PickleSaverWritesPyTorchZipFormat) {
  const auto path = temp_path("format.pt");
  write_python_state_dict({{"w", torch::ones({2})}}, path);
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // torch.save's zip container: a local file header and a data.pkl record.
  EXPECT_EQ(bytes.substr(0, 4), std::string("PK\x03\x04", 4));
  EXPECT_NE(bytes.find("data.pkl"), std::string::npos);
  fs::remove(path);
}

TEST(Weights, LoadsByNameAndReportsMissingAndUnexpected) {
  torch::manual_seed(0);
  dkd::Backbone source(tiny());
  torch::manual_seed(1);
  dkd::Backbone target(tiny());
  dkd::StateDict tensors;
  for (const auto& p : source->named_parameters()) {
    if (p.key() == "layer2.0.conv1.weight") continue;                       // will be missing
    tensors.emplace_back("module." + p.key(), p.value().detach().clone());  // DataParallel naming
  }
  for (const auto& b : source->named_buffers()) tensors.emplace_back(b.key(), b.value().clone());
  tensors.emplace_back("fc.weight", torch::zeros({10, 32}));  // unexpected (ImageNet classifier)
  const auto path = temp_path("state.pt");
  write_python_state_dict(tensors, path);

  const auto report = dkd::load_state_dict(*target, path);
  EXPECT_EQ(report.missing, std::vector<std::string>{"layer2.0.conv1.weight"});
  EXPECT_EQ(report.unexpected, std::vector<std::string>{"fc.weight"});
  EXPECT_EQ(report.loaded.size(), tensors.size() - 1);
  EXPECT_NE(report.summary().find("layer2.0.conv1.weight"), std::string::npos);
  auto src = source->named_parameters();
  auto dst = target->named_parameters();
  EXPECT_TRUE(dst["layer4.1.conv2.weight"].equal(src["layer4.1.conv2.weight"]));
  EXPECT_TRUE(dst["deconv_layers.4.bias"].equal(src["deconv_layers.4.bias"]));
  EXPECT_FALSE(dst["layer2.0.conv1.weight"].equal(src["layer2.0.conv1.weight"]));
  fs::remove(path);
}

TEST(Weights, ShapeMismatchNamesParameterAndChangesNothing) {
  torch::manual_seed(0);
  dkd::Backbone model(tiny());
  dkd::StateDict tensors{{"conv1.weight", torch::zeros({4, 3, 7, 7})}, {"layer1.0.bn1.weight", torch::zeros({5})}};
  const auto path = temp_path("mismatch.pt");
  write_python_state_dict(tensors, path);
  const auto before = model->named_parameters()["conv1.weight"].clone();
  try {
    dkd::load_state_dict(*model, path);
    FAIL() << "expected dkd::Error";
  } catch (const dkd::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("layer1.0.bn1.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[5]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[4]"), std::string::npos) << msg;
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
  }
  EXPECT_TRUE(model->named_parameters()["conv1.weight"].equal(before));
  fs::remove(path);
}

TEST(Weights, UnreadableFileIsErrorNamingIt) {
  dkd::Backbone model(tiny());
  const auto missing = temp_path("does_not_exist.pt");
  try {
    dkd::load_state_dict(*model, missing);
    FAIL();
  } catch (const dkd::Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos);
  }
  const auto garbage = temp_path("garbage.pt");
  std::ofstream(garbage) << "not a zip";
  EXPECT_THROW(dkd::load_state_dict(*model, garbage), dkd::Error);
  fs::remove(garbage);
}

TEST(Weights, CheckpointWrapperAndPrefixSelectSubtree) {
  torch::manual_seed(0);
  dkd::PerFrameModel trained(tiny(), 3);
  // {"epoch": 7, "state_dict": {...}} as training scripts save checkpoints.
  c10::Dict<std::string, at::Tensor> inner;
  for (const auto& p : trained->named_parameters()) inner.insert(p.key(), p.value().detach());
  for (const auto& b : trained->named_buffers()) inner.insert(b.key(), b.value());
  c10::impl::GenericDict outer(c10::StringType::get(), c10::AnyType::get());
  outer.insert(std::string("epoch"), int64_t{7});
  outer.insert(std::string("state_dict"), inner);
  const auto path = temp_path("checkpoint.pt");
  auto bytes = torch::pickle_save(outer);
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));

  const auto tensors = dkd::read_state_dict(path);
  torch::manual_seed(5);
  dkd::Backbone backbone(tiny());
  EXPECT_EQ(dkd::best_prefix(*backbone, tensors, {"", "backbone."}), "backbone.");
  const auto report = dkd::load_state_dict(*backbone, tensors, "backbone.", path);
  EXPECT_TRUE(report.missing.empty());
  EXPECT_TRUE(report.unexpected.empty());
  EXPECT_EQ(report.ignored, 2u);  // final_layer.weight and .bias
  EXPECT_TRUE(backbone->named_parameters()["layer3.1.bn2.weight"].equal(
      trained->backbone->named_parameters()["layer3.1.bn2.weight"]));

  // The module-level saver writes the same format back.
  const auto round_trip = temp_path("round_trip.pt");
  dkd::save_state_dict(*backbone, round_trip);
  dkd::Backbone again(tiny());
  EXPECT_TRUE(dkd::load_state_dict(*again, round_trip).missing.empty());
  EXPECT_TRUE(
      again->named_buffers()["layer1.0.bn1.running_var"].equal(backbone->named_buffers()["layer1.0.bn1.running_var"]));
  fs::remove(path);
  fs::remove(round_trip);
}

}  // namespace

namespace {

TEST(Weights, ReadsPythonTorchSaveOrderedDictLayout) {
  // Fixture made by tests/fixtures/make_python_state_dict.py with torch.save's
  // exact pickle layout (OrderedDict + _metadata, persistent storages).
  const std::string path = std::string(DKD_SOURCE_DIR) + "/tests/fixtures/python_state_dict.pt";
  torch::nn::Linear w(3, 2);
  torch::nn::Sequential model;
  model->push_back("w", w);
  const auto report = dkd::load_state_dict(*model, path);
  EXPECT_TRUE(report.missing.empty());
  EXPECT_TRUE(report.unexpected.empty());
  EXPECT_TRUE(w->weight.equal(torch::tensor({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}})));
  EXPECT_TRUE(w->bias.equal(torch::tensor({10.f, 11.f})));
}

}  // namespace
