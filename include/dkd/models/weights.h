#pragma once
// Import of PyTorch weights saved with Python's torch.save(model.state_dict(), f)
// (the zip format of PyTorch >= 1.6), read with LibTorch's pickle loader and
// matched by parameter/buffer name.
//
// Supported layouts of the file:
//  - a state_dict (OrderedDict name -> tensor), e.g. torchvision's ImageNet ResNets;
//  - a checkpoint dict whose "state_dict", "model_state_dict" or "model" entry is one
//    (SimpleBaseline / mmpose / many training scripts);
//  - keys starting with "module." (DataParallel / DDP) have it stripped.
// `prefix` selects a sub-tree of the file: file key = prefix + module name, and keys
// outside the prefix are ignored (counted, not reported as unexpected). Loading a
// SimpleBaseline PoseResNet checkpoint into our Backbone works with prefix "" (trunk
// and deconv_layers keep their names; its final_layer is reported unexpected);
// a checkpoint of our PerFrameModel/FrameEncoder holds the backbone under "backbone.".
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace dkd {

/// Named tensors in file order.
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

struct WeightLoadReport {
  std::string source;                   // file name (or "<memory>")
  std::string prefix;                   // prefix used
  std::vector<std::string> loaded;      // module names copied from the file
  std::vector<std::string> missing;     // module names absent from the file (left as they were)
  std::vector<std::string> unexpected;  // file keys (under the prefix) the module does not have
  std::size_t ignored = 0;              // file keys outside the prefix
  /// One paragraph: counts, then the missing and unexpected names.
  std::string summary() const;
};

/// Reads a torch.save file into named tensors (unwrapping checkpoint dicts, stripping
/// "module."). dkd::Error naming the file when it cannot be read or holds no tensors.
StateDict read_state_dict(const std::string& path);

/// The pickle reader behind read_state_dict for files written by Python's
/// torch.save: parses `pickle` (data.pkl of the zip), asking `load_storage` for
/// each storage (key, dtype, numel). Every malformed input is a std::exception
/// (never a crash); exposed for the fuzz tests.
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

/// Writes a module's parameters and buffers as a state_dict in PyTorch's format
/// (torch::pickle_save of a Dict[str, Tensor]; Python's torch.load reads it).
void save_state_dict(const torch::nn::Module& module, const std::string& path);
void save_state_dict(const StateDict& tensors, const std::string& path);

/// Copies matching tensors into `module` (values converted to the parameter's
/// dtype and device). A shape mismatch is a dkd::Error naming the parameter and
/// both shapes; nothing is copied then.
WeightLoadReport load_state_dict(torch::nn::Module& module, const StateDict& tensors, const std::string& prefix = "",
                                 const std::string& source = "<memory>");
WeightLoadReport load_state_dict(torch::nn::Module& module, const std::string& path, const std::string& prefix = "");

/// The prefix among `candidates` under which the most of `module`'s names occur in `tensors`.
std::string best_prefix(const torch::nn::Module& module, const StateDict& tensors,
                        const std::vector<std::string>& candidates);

}  // namespace dkd
