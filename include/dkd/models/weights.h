#pragma once
// Import of PyTorch weights saved with Python's torch.save(model.state_dict(), f)
// (the zip format of PyTorch >= 1.6), read with dkd's own pickle reader
// (pickle_reader.h) and matched by parameter/buffer name.
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
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "dkd/models/pickle_reader.h"

namespace dkd {

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
