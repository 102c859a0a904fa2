// Hostile files: byte-flipped and truncated .mat files, checkpoints and
// state_dicts, and mutated or random pickles go through their readers. Each
// case must either read (a flip can land in padding) or fail with a dkd::Error
// naming the file -- never crash, abort or hang. Deterministic (fixed seeds);
// a few thousand cases in a few seconds. Run it under AddressSanitizer with the
// `asan` CMake preset (README, "Tests").
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <caffe2/serialize/inline_container.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "data_fixtures.h"
#include "dkd/data/penn_action.h"
#include "dkd/models/checkpoint.h"
#include "dkd/models/pickle_reader.h"
#include "dkd/models/weights.h"
#include "dkd/util/error.h"

namespace {

namespace fs = std::filesystem;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// One mutation of `good`: a truncation (1 case in 4) or 1-4 bytes set to random values.
std::string mutate(const std::string& good, std::mt19937& rng) {
  std::string bad = good;
  if (rng() % 4 == 0) {
    bad.resize(rng() % good.size());
    return bad;
  }
  const int flips = 1 + static_cast<int>(rng() % 4);
  for (int k = 0; k < flips; ++k) bad[rng() % bad.size()] = static_cast<char>(rng() & 0xff);
  return bad;
}

/// Runs `read` on `cases` mutations of the file at `path`. A failure must be a
/// dkd::Error whose message names the file; anything else fails the test.
/// Returns how many mutations were rejected.
template <class Read>
int fuzz_file(const std::string& path, int cases, uint32_t seed, Read read) {
  const std::string good = read_bytes(path);
  EXPECT_NO_THROW(read(path)) << "the unmutated file must read";
  std::mt19937 rng(seed);
  int rejected = 0;
  for (int c = 0; c < cases; ++c) {
    write_bytes(path, mutate(good, rng));
    try {
      read(path);
    } catch (const dkd::Error& e) {
      ++rejected;
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << "case " << c << ": " << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "case " << c << ": not a dkd::Error: " << e.what();
    }
  }
  write_bytes(path, good);
  return rejected;
}

TEST(Fuzz, MatFilesByteFlippedAndTruncated) {
  const auto start = std::chrono::steady_clock::now();
  const std::string root = dkd::test::fresh_dir("fuzz_mat");
  for (const bool compress : {true, false}) {
    auto v = dkd::test::make_record("penn", "0001", "baseball_pitch", 6, true);
    dkd::MatQuirks q;
    q.compress = compress;
    const std::string path = dkd::penn_label_path(root, "0001");
    dkd::test::write_penn_fixture(v, root, q);
    const int rejected = fuzz_file(path, 600, compress ? 1u : 2u,
                                   [&](const std::string& p) { dkd::PennAction::read_labels(p, root, "0001"); });
    EXPECT_GT(rejected, 100) << "compress " << compress;
  }
  fs::remove_all(root);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 60.0);
}

TEST(Fuzz, StateDictsByteFlippedAndTruncated) {
  const std::string dir = dkd::test::fresh_dir("fuzz_state");
  const std::string path = dir + "/weights.pt";
  c10::Dict<std::string, at::Tensor> dict;
  dict.insert("conv.weight", torch::arange(24, torch::kFloat).reshape({2, 3, 2, 2}));
  dict.insert("bn.running_mean", torch::ones({3}));
  dict.insert("bn.num_batches_tracked", torch::tensor(int64_t{7}));
  const auto bytes = torch::pickle_save(dict);
  write_bytes(path, std::string(bytes.begin(), bytes.end()));
  const int rejected = fuzz_file(path, 800, 3u, [](const std::string& p) { (void)dkd::read_state_dict(p); });
  EXPECT_GT(rejected, 400);
  fs::remove_all(dir);
}

TEST(Fuzz, CheckpointsByteFlippedAndTruncated) {
  const std::string dir = dkd::test::fresh_dir("fuzz_ckpt");
  const std::string path = dir + "/epoch_1.pt";
  torch::nn::Linear model(3, 2);
  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  dkd::CheckpointMeta meta;
  meta.stage = dkd::StageKind::dkd;
  meta.epoch = 1;
  meta.config_yaml = "train: {}\n";
  dkd::save_checkpoint(path, meta, {{"encoder", model.ptr().get()}}, {{"pose", &opt}});
  const int rejected = fuzz_file(path, 500, 4u, [&](const std::string& p) {
    (void)dkd::read_checkpoint_meta(p);
    torch::nn::Linear target(3, 2);
    torch::optim::SGD target_opt(target->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
    (void)dkd::load_checkpoint(p, {{"encoder", target.ptr().get()}}, {{"pose", &target_opt}});
  });
  EXPECT_GT(rejected, 250);
  fs::remove_all(dir);
}

/// The data.pkl record of a pickle_save file: a real state_dict pickle to mutate.
std::string state_dict_pickle(const std::string& zip_path) {
  caffe2::serialize::PyTorchStreamReader zip(zip_path);
  auto [ptr, size] = zip.getRecord("data.pkl");
  return std::string(static_cast<const char*>(ptr.get()), size);
}

/// Storages for the pickle reader: zeros of the requested size, refusing sizes no test file has.
torch::Tensor fake_storage(const std::string&, c10::ScalarType dtype, int64_t numel) {
  if (numel > (1 << 20)) throw std::runtime_error("storage too large");
  return torch::zeros({numel}, torch::TensorOptions().dtype(dtype));
}

TEST(Fuzz, MutatedAndRandomPicklesAreRejectedCleanly) {
  const std::string dir = dkd::test::fresh_dir("fuzz_pickle");
  const std::string path = dir + "/w.pt";
  c10::Dict<std::string, at::Tensor> dict;
  dict.insert("a", torch::ones({2, 3}));
  dict.insert("b", torch::zeros({4}));
  const auto bytes = torch::pickle_save(dict);
  write_bytes(path, std::string(bytes.begin(), bytes.end()));
  const std::string good = state_dict_pickle(path);
  ASSERT_NO_THROW(dkd::validate_pickle(good));
  fs::remove_all(dir);

  std::mt19937 rng(5);
  int rejected = 0;
  auto attempt = [&](const std::string& pickle) {
    try {
      (void)dkd::parse_state_dict_pickle(pickle, fake_storage);
    } catch (const std::exception&) {
      ++rejected;
    }
    try {
      dkd::validate_pickle(pickle);
    } catch (const std::exception&) {}
  };
  // Structured: the real pickle with flips, truncations, and spliced opcodes.
  for (int c = 0; c < 2000; ++c) attempt(mutate(good, rng));
  for (int c = 0; c < 500; ++c) {
    std::string p = good;
    const std::string chunk = good.substr(rng() % good.size(), 1 + rng() % 16);
    p.insert(rng() % p.size(), chunk);
    attempt(p);
  }
  // Random opcode soups: every opcode the reader knows, with random operands.
  const std::string ops =
      "\x80\x95.(N\x88\x89JKM\x8a\x8bGX\x8c\x8dTUBC\x8e)]}tld\x85\x86\x87qr\x94hjc\x93QR\x81"
      "bsuae";
  for (int c = 0; c < 2000; ++c) {
    std::string p;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int k = 0; k < n; ++k) {
      p += ops[rng() % ops.size()];
      const int operand = static_cast<int>(rng() % 4);
      for (int b = 0; b < operand; ++b) p += static_cast<char>(rng() & 0xff);
    }
    attempt(p);
  }
  EXPECT_GT(rejected, 3000);

  // The crafted cases of the issue: TUPLE on a short stack, a MARK above the stack,
  // a huge length, a tensor view past its storage, a memo key never stored.
  for (const std::string& crafted : {std::string("\x80\x02\x86.", 4), std::string("\x80\x02(K\x01\x85\x30t.", 9),
                                     std::string("\x80\x02X\xf0\xff\xff\xff", 8), std::string("\x80\x02h\x05.", 5),
                                     std::string("\x80\x02\x8d\xf7\xff\xff\xff\xff\xff\xff\xff.", 12)}) {
    EXPECT_THROW((void)dkd::parse_state_dict_pickle(crafted, fake_storage), std::exception);
    EXPECT_THROW(dkd::validate_pickle(crafted), std::exception);
  }
}

TEST(Fuzz, StateDictFileWithShortStackTupleNamesTheFile) {
  // A zip whose data.pkl is valid for its CRC but pops from an empty stack: the
  // issue's segfault. It must be one Error naming the file.
  const std::string dir = dkd::test::fresh_dir("fuzz_tuple");
  const std::string path = dir + "/bad.pt";
  {
    caffe2::serialize::PyTorchStreamWriter writer(path);
    const std::string pickle("\x80\x02\x86.", 4);
    writer.writeRecord("data.pkl", pickle.data(), pickle.size());
    writer.writeEndOfFile();
  }
  try {
    (void)dkd::read_state_dict(path);
    ADD_FAILURE() << "read";
  } catch (const dkd::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("TUPLE2"), std::string::npos) << e.what();
  }
  try {
    (void)dkd::read_checkpoint_meta(path);
    ADD_FAILURE() << "read";
  } catch (const dkd::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
