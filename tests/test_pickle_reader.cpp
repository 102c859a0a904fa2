// The pickle reader of torch.save files (models/pickle_reader.h), on its own:
// the Python fixture and a hand-assembled pickle. The mutated and random
// pickles are in test_fuzz.cpp.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "dkd/models/pickle_reader.h"

namespace {

TEST(PickleReader, ReadsPythonTorchSaveFileInFileOrder) {
  // Made by tests/fixtures/make_python_state_dict.py (OrderedDict + _metadata).
  const dkd::StateDict sd =
      dkd::read_pickled_state_dict(std::string(DKD_SOURCE_DIR) + "/tests/fixtures/python_state_dict.pt");
  ASSERT_EQ(sd.size(), 2u);
  EXPECT_EQ(sd[0].first, "w.weight");
  EXPECT_TRUE(sd[0].second.equal(torch::tensor({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}})));
  EXPECT_EQ(sd[1].first, "w.bias");
  EXPECT_TRUE(sd[1].second.equal(torch::tensor({10.f, 11.f})));
}

std::string unicode(const std::string& s) {
  std::string out = "X";
  for (int k = 0; k < 4; ++k) out += static_cast<char>((s.size() >> (8 * k)) & 0xff);
  return out + s;
}

/// Protocol 2: {"x": _rebuild_tensor_v2(storage "0" of `numel` floats, 0, (size,), (1,))}.
std::string one_tensor_pickle(int numel, int size) {
  std::string p = "\x80\x02}";
  p += unicode("x");
  p += "ctorch._utils\n_rebuild_tensor_v2\n(";
  p += "(" + unicode("storage") + "ctorch\nFloatStorage\n" + unicode("0") + unicode("cpu") + "K" +
       static_cast<char>(numel) + "tQ";
  p += std::string("K\x00", 2) + "K" + static_cast<char>(size) + "\x85" + "K\x01\x85";
  p += "tRs.";
  return p;
}

TEST(PickleReader, AsksTheLoaderForEachStorage) {
  std::vector<std::string> asked;
  auto loader = [&asked](const std::string& key, c10::ScalarType dtype, int64_t numel) {
    asked.push_back(key + " " + c10::toString(dtype) + " " + std::to_string(numel));
    return torch::tensor({5.f, 6.f});
  };
  const dkd::StateDict sd = dkd::parse_state_dict_pickle(one_tensor_pickle(2, 2), loader);
  EXPECT_EQ(asked, (std::vector<std::string>{"0 Float 2"}));
  ASSERT_EQ(sd.size(), 1u);
  EXPECT_EQ(sd[0].first, "x");
  EXPECT_TRUE(sd[0].second.equal(torch::tensor({5.f, 6.f})));
  EXPECT_NO_THROW(dkd::validate_pickle(one_tensor_pickle(2, 2)));
}

TEST(PickleReader, ViewPastItsStorageAndNonDictAreErrors) {
  auto loader = [](const std::string&, c10::ScalarType, int64_t numel) { return torch::zeros({numel}); };
  // Three elements of a storage of two.
  EXPECT_THROW(dkd::parse_state_dict_pickle(one_tensor_pickle(2, 3), loader), std::runtime_error);
  EXPECT_THROW(dkd::validate_pickle(one_tensor_pickle(2, 3)), std::runtime_error);
  // A pickled None is not a state dict; an empty dict is one without tensors.
  EXPECT_THROW(dkd::parse_state_dict_pickle("\x80\x02N.", loader), std::runtime_error);
  EXPECT_TRUE(dkd::parse_state_dict_pickle("\x80\x02}.", loader).empty());
}

}  // namespace
