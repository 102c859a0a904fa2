#pragma once
// A reader for the Python pickles of PyTorch's zip files (data.pkl of a
// torch.save file): the subset of protocols 2-5 that torch.save writes for state
// dicts and checkpoints. LibTorch 1.13's torch::pickle_load turns
// collections.OrderedDict -- the type of every Python state_dict -- into None and
// then fails, and it trusts its input (a short stack can crash it), so files
// saved from Python need this reader. Only what a state dict needs is modelled:
// containers, scalars, strings, storages and tensors; any other object becomes
// an opaque value that is ignored. Every malformed input is a std::exception
// (never a crash): lengths, nesting, memo keys and tensor views are checked.
//
// Matching the tensors to a module's names is weights.h.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace dkd {

/// Named tensors in file order.
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

/// Reads the state dict of a torch.save zip file: verify_zip_archive (every
/// record's CRC-32), then data.pkl with its storages from data/<key> (one tensor
/// per storage however often the pickle names it). A checkpoint dict is
/// unwrapped to its "state_dict", "model_state_dict" or "model" entry.
/// std::exception on any problem; read_state_dict (weights.h) names the file.
StateDict read_pickled_state_dict(const std::string& path);

/// The pickle reader behind read_pickled_state_dict: parses `pickle` (data.pkl
/// of the zip), asking `load_storage` for each storage (key, dtype, numel).
/// Exposed for the fuzz tests.
using StorageLoader = std::function<torch::Tensor(const std::string&, c10::ScalarType, int64_t)>;
StateDict parse_state_dict_pickle(const std::string& pickle, const StorageLoader& load_storage);

/// Checks a pickle's structure (stack discipline, lengths, memo keys, tensor
/// views inside their storages) without building tensors. LibTorch 1.13's own
/// unpickler trusts its input (a short stack can crash it), so every pickle is
/// checked here before LibTorch reads it. std::runtime_error on any problem.
void validate_pickle(const std::string& pickle);
/// verify_zip_archive (every record's CRC-32), then validate_pickle on every
/// *.pkl record of a PyTorch zip archive (torch.save, torch::pickle_save or
/// torch::serialize::OutputArchive files); errors name the record.
void validate_torch_archive(const std::string& path);

}  // namespace dkd
