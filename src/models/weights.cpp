#include "dkd/models/weights.h"

#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "dkd/models/pickle_reader.h"
#include "dkd/util/error.h"
#include "dkd/util/runtime.h"

namespace dkd {
namespace {

/// An exception's message without LibTorch's backtrace.
std::string short_what(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) return c10_error->what_without_backtrace();
  return e.what();
}

std::string shape_string(torch::IntArrayRef sizes) {
  std::ostringstream s;
  s << sizes;
  return s.str();
}

/// Parameters and buffers of a module by name (what a PyTorch state_dict holds).
std::vector<std::pair<std::string, torch::Tensor>> module_tensors(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : module.named_parameters(true)) out.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers(true)) out.emplace_back(b.key(), b.value());
  return out;
}

std::string strip_module_prefix(const std::string& key) {
  static const std::string kModule = "module.";
  return key.rfind(kModule, 0) == 0 ? key.substr(kModule.size()) : key;
}

}  // namespace

std::string WeightLoadReport::summary() const {
  std::ostringstream s;
  s << source << (prefix.empty() ? "" : " [" + prefix + "]") << ": loaded " << loaded.size() << ", missing "
    << missing.size() << ", unexpected " << unexpected.size();
  if (ignored > 0) s << ", ignored " << ignored << " outside the prefix";
  auto list = [&s](const char* what, const std::vector<std::string>& names) {
    if (names.empty()) return;
    s << "\n  " << what << ":";
    for (const auto& n : names) s << " " << n;
  };
  list("missing", missing);
  list("unexpected", unexpected);
  return s.str();
}

StateDict read_state_dict(const std::string& path) {
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open weights file");
    if (in.peek() == std::ifstream::traits_type::eof()) throw Error(path + ": weights file is empty");
  }
  // Our own reader for every file: LibTorch 1.13's torch::pickle_load trusts its
  // input (a short stack or a corrupt zip offset crashes it), and cannot rebuild
  // the OrderedDict of files written by Python's torch.save.
  StateDict out;
  try {
    out = read_pickled_state_dict(path);
  } catch (const std::exception& e) {
    throw Error(path +
                ": not a PyTorch state_dict saved with torch.save (zip format): " + short_what(e).substr(0, 300));
  }
  for (auto& entry : out) entry.first = strip_module_prefix(entry.first);
  if (out.empty()) throw Error(path + ": holds no named tensors");
  return out;
}

void save_state_dict(const StateDict& tensors, const std::string& path) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, tensor] : tensors) dict.insert(name, tensor.detach().cpu());
  const std::vector<char> bytes = torch::pickle_save(torch::IValue(dict));
  // Atomic: an interrupted export leaves the old file or none, never a truncated one.
  write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
}

void save_state_dict(const torch::nn::Module& module, const std::string& path) {
  save_state_dict(module_tensors(module), path);
}

WeightLoadReport load_state_dict(torch::nn::Module& module, const StateDict& tensors, const std::string& prefix,
                                 const std::string& source) {
  WeightLoadReport report;
  report.source = source;
  report.prefix = prefix;
  std::unordered_map<std::string, const torch::Tensor*> file;
  for (const auto& [key, tensor] : tensors) {
    if (key.rfind(prefix, 0) != 0) {
      ++report.ignored;
      continue;
    }
    file.emplace(key.substr(prefix.size()), &tensor);
  }
  std::vector<std::pair<torch::Tensor, const torch::Tensor*>> copies;
  std::unordered_set<std::string> used;
  for (auto& [name, target] : module_tensors(module)) {
    auto it = file.find(name);
    if (it == file.end()) {
      report.missing.push_back(name);
      continue;
    }
    const torch::Tensor& value = *it->second;
    if (value.sizes() != target.sizes()) {
      throw Error(source + ": parameter '" + name + "' has shape " + shape_string(value.sizes()) +
                  " in the file (key '" + prefix + name + "') but " + shape_string(target.sizes()) + " in the model");
    }
    copies.emplace_back(target, &value);
    used.insert(name);
    report.loaded.push_back(name);
  }
  for (const auto& [key, tensor] : tensors) {
    if (key.rfind(prefix, 0) == 0 && !used.count(key.substr(prefix.size()))) {
      report.unexpected.push_back(key);
    }
  }
  // Copy only after every shape was checked, so a failed load changes nothing.
  torch::NoGradGuard no_grad;
  for (auto& [target, value] : copies) target.copy_(*value);
  return report;
}

WeightLoadReport load_state_dict(torch::nn::Module& module, const std::string& path, const std::string& prefix) {
  return load_state_dict(module, read_state_dict(path), prefix, path);
}

std::string best_prefix(const torch::nn::Module& module, const StateDict& tensors,
                        const std::vector<std::string>& candidates) {
  std::unordered_set<std::string> keys;
  for (const auto& entry : tensors) keys.insert(entry.first);
  std::string best = candidates.empty() ? std::string() : candidates.front();
  std::size_t best_count = 0;
  for (const auto& prefix : candidates) {
    std::size_t count = 0;
    for (const auto& entry : module_tensors(module)) count += keys.count(prefix + entry.first);
    if (count > best_count) {
      best_count = count;
      best = prefix;
    }
  }
  return best;
}

}  // namespace dkd