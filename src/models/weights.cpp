#include "dkd/models/weights.h"

#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <caffe2/serialize/inline_container.h>

#include "dkd/util/error.h"

namespace dkd {
namespace {

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

/// A reader for the subset of Python pickles that torch.save writes for state
/// dicts and checkpoints (protocols 2-5). LibTorch 1.13's torch::pickle_load
/// turns collections.OrderedDict -- the type of every Python state_dict -- into
/// None and then fails, so files saved from Python need this. Only what a state
/// dict needs is modelled: containers, scalars, strings, storages and tensors;
/// any other object becomes an opaque value that is ignored.
namespace py {

struct Value;
using Ptr = std::shared_ptr<Value>;
struct Value {
  enum Kind { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Global, Storage, Tensor, Opaque };
  Kind kind = None;
  int64_t i = 0;
  double f = 0.0;
  std::string s, s2;                          // Str/Bytes; Global: module, name
  std::vector<Ptr> items;                     // Tuple/List
  std::vector<std::pair<Ptr, Ptr>> entries;   // Dict (ordered)
  torch::Tensor tensor;                       // Storage (1-D) / Tensor
};

Ptr make(Value::Kind k) {
  auto v = std::make_shared<Value>();
  v->kind = k;
  return v;
}

c10::ScalarType storage_dtype(const std::string& name) {
  static const std::map<std::string, c10::ScalarType> types = {
      {"FloatStorage", torch::kFloat},   {"DoubleStorage", torch::kDouble},
      {"HalfStorage", torch::kHalf},     {"BFloat16Storage", torch::kBFloat16},
      {"LongStorage", torch::kLong},     {"IntStorage", torch::kInt},
      {"ShortStorage", torch::kShort},   {"CharStorage", torch::kChar},
      {"ByteStorage", torch::kByte},     {"BoolStorage", torch::kBool}};
  auto it = types.find(name);
  if (it == types.end()) throw std::runtime_error("unsupported storage type torch." + name);
  return it->second;
}

class Reader {
 public:
  Reader(const std::string& pickle, std::function<torch::Tensor(const std::string&, c10::ScalarType, int64_t)> storage)
      : data_(pickle), load_storage_(std::move(storage)) {}

  Ptr parse() {
    while (true) {
      const uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;                                  // PROTO
        case 0x95: fixed(8); break;                                // FRAME
        case '.': return pop();                                    // STOP
        case '(': marks_.push_back(stack_.size()); break;          // MARK
        case 'N': stack_.push_back(make(Value::None)); break;
        case 0x88: case 0x89: { auto v = make(Value::Bool); v->i = op == 0x88; stack_.push_back(v); } break;
        case 'J': push_int(static_cast<int32_t>(le(4))); break;    // BININT
        case 'K': push_int(le(1)); break;                          // BININT1
        case 'M': push_int(le(2)); break;                          // BININT2
        case 0x8a: { const auto n = le(1); push_int(signed_le(n)); } break;  // LONG1
        case 0x8b: { const auto n = le(4); push_int(signed_le(n)); } break;  // LONG4
        case 'G': {                                                // BINFLOAT (big-endian)
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | byte();
          auto v = make(Value::Float);
          std::memcpy(&v->f, &bits, 8);
          stack_.push_back(v);
        } break;
        case 'X': push_str(Value::Str, le(4)); break;              // BINUNICODE
        case 0x8c: push_str(Value::Str, le(1)); break;             // SHORT_BINUNICODE
        case 0x8d: push_str(Value::Str, le(8)); break;             // BINUNICODE8
        case 'T': push_str(Value::Str, le(4)); break;              // BINSTRING
        case 'U': push_str(Value::Str, le(1)); break;              // SHORT_BINSTRING
        case 'B': push_str(Value::Bytes, le(4)); break;            // BINBYTES
        case 'C': push_str(Value::Bytes, le(1)); break;            // SHORT_BINBYTES
        case 0x8e: push_str(Value::Bytes, le(8)); break;           // BINBYTES8
        case ')': stack_.push_back(make(Value::Tuple)); break;     // EMPTY_TUPLE
        case ']': stack_.push_back(make(Value::List)); break;      // EMPTY_LIST
        case '}': stack_.push_back(make(Value::Dict)); break;      // EMPTY_DICT
        case 't': { auto v = make(Value::Tuple); v->items = pop_mark(); stack_.push_back(v); } break;
        case 'l': { auto v = make(Value::List); v->items = pop_mark(); stack_.push_back(v); } break;
        case 'd': { auto v = make(Value::Dict); set_items(v, pop_mark()); stack_.push_back(v); } break;
        case 0x85: case 0x86: case 0x87: {                         // TUPLE1..3
          const size_t n = op - 0x84;
          auto v = make(Value::Tuple);
          v->items.assign(stack_.end() - n, stack_.end());
          stack_.resize(stack_.size() - n);
          stack_.push_back(v);
        } break;
        case 'q': memo_[le(1)] = top(); break;                     // BINPUT
        case 'r': memo_[le(4)] = top(); break;                     // LONG_BINPUT
        case 0x94: memo_[memo_.size()] = top(); break;             // MEMOIZE
        case 'h': stack_.push_back(memo_.at(le(1))); break;        // BINGET
        case 'j': stack_.push_back(memo_.at(le(4))); break;        // LONG_BINGET
        case 'c': {                                                // GLOBAL
          auto v = make(Value::Global);
          v->s = line();
          v->s2 = line();
          stack_.push_back(v);
        } break;
        case 0x93: {                                               // STACK_GLOBAL
          auto name = pop(), module = pop();
          auto v = make(Value::Global);
          v->s = module->s;
          v->s2 = name->s;
          stack_.push_back(v);
        } break;
        case 'Q': stack_.push_back(persistent(pop())); break;      // BINPERSID
        case 'R': {                                                // REDUCE
          auto args = pop(), callable = pop();
          stack_.push_back(reduce(callable, args));
        } break;
        case 0x81: { pop(); pop(); stack_.push_back(make(Value::Opaque)); } break;  // NEWOBJ
        case 'b': pop(); break;                                    // BUILD: state ignored
        case 's': {                                                // SETITEM
          auto value = pop(), key = pop();
          set_items(top(), {key, value});
        } break;
        case 'u': { auto kv = pop_mark(); set_items(top(), kv); } break;  // SETITEMS
        case 'a': { auto v = pop(); append(top(), {v}); } break;   // APPEND
        case 'e': { auto vs = pop_mark(); append(top(), vs); } break;     // APPENDS
        default:
          throw std::runtime_error("unsupported pickle opcode 0x" + hex(op) + " at byte " +
                                   std::to_string(pos_ - 1));
      }
    }
  }

 private:
  uint8_t byte() {
    if (pos_ >= data_.size()) throw std::runtime_error("pickle ends early");
    return static_cast<uint8_t>(data_[pos_++]);
  }
  std::string fixed(size_t n) {
    if (pos_ + n > data_.size()) throw std::runtime_error("pickle ends early");
    auto s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  uint64_t le(size_t n) {
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k) v |= static_cast<uint64_t>(byte()) << (8 * k);
    return v;
  }
  int64_t signed_le(size_t n) {
    if (n == 0) return 0;
    if (n > 8) throw std::runtime_error("pickle integer wider than 64 bits");
    uint64_t v = le(n);
    if (n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);
    return static_cast<int64_t>(v);
  }
  std::string line() {
    const auto end = data_.find('\n', pos_);
    if (end == std::string::npos) throw std::runtime_error("pickle ends early");
    auto s = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }
  static std::string hex(uint8_t v) {
    const char* digits = "0123456789abcdef";
    return {digits[v >> 4], digits[v & 15]};
  }
  void push_int(int64_t i) {
    auto v = make(Value::Int);
    v->i = i;
    stack_.push_back(v);
  }
  void push_str(Value::Kind kind, uint64_t n) {
    auto v = make(kind);
    v->s = fixed(n);
    stack_.push_back(v);
  }
  Ptr pop() {
    if (stack_.empty()) throw std::runtime_error("pickle stack underflow");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Ptr top() {
    if (stack_.empty()) throw std::runtime_error("pickle stack underflow");
    return stack_.back();
  }
  std::vector<Ptr> pop_mark() {
    if (marks_.empty()) throw std::runtime_error("pickle MARK missing");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Ptr> items(stack_.begin() + m, stack_.end());
    stack_.resize(m);
    return items;
  }
  static void set_items(const Ptr& target, const std::vector<Ptr>& kv) {
    if (target->kind != Value::Dict) return;  // e.g. items of an opaque object
    for (size_t k = 0; k + 1 < kv.size(); k += 2) target->entries.emplace_back(kv[k], kv[k + 1]);
  }
  static void append(const Ptr& target, const std::vector<Ptr>& items) {
    if (target->kind == Value::List) target->items.insert(target->items.end(), items.begin(), items.end());
  }

  Ptr persistent(const Ptr& pid) {
    // ('storage', torch.<Type>Storage, key, location, numel)
    if (pid->kind != Value::Tuple || pid->items.size() < 5 || pid->items[0]->s != "storage" ||
        pid->items[1]->kind != Value::Global) {
      throw std::runtime_error("unsupported persistent id (not a torch storage)");
    }
    const auto dtype = storage_dtype(pid->items[1]->s2);
    auto v = make(Value::Storage);
    v->tensor = load_storage_(pid->items[2]->s, dtype, pid->items[4]->i);
    return v;
  }

  Ptr reduce(const Ptr& callable, const Ptr& args) {
    if (callable->kind != Value::Global) return make(Value::Opaque);
    const std::string name = callable->s + "." + callable->s2;
    if (name == "collections.OrderedDict" || name == "builtins.dict") return make(Value::Dict);
    if ((name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") &&
        args->items.size() >= 4 && args->items[0]->kind == Value::Storage) {
      auto ints = [](const Ptr& t) {
        std::vector<int64_t> out;
        for (const auto& e : t->items) out.push_back(e->i);
        return out;
      };
      auto v = make(Value::Tensor);
      v->tensor = args->items[0]->tensor.as_strided(ints(args->items[2]), ints(args->items[3]),
                                                    args->items[1]->i);
      return v;
    }
    if (name == "torch._utils._rebuild_parameter" && !args->items.empty() &&
        args->items[0]->kind == Value::Tensor) {
      return args->items[0];
    }
    return make(Value::Opaque);
  }

  const std::string& data_;
  size_t pos_ = 0;
  std::function<torch::Tensor(const std::string&, c10::ScalarType, int64_t)> load_storage_;
  std::vector<Ptr> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, Ptr> memo_;
};

/// Named tensors of a dict (unwrapping checkpoint dicts as read_state_dict does).
void collect(const Ptr& dict, StateDict& out) {
  for (const char* wrapper : {"state_dict", "model_state_dict", "model"}) {
    for (const auto& [k, v] : dict->entries) {
      if (k->kind == Value::Str && k->s == wrapper && v->kind == Value::Dict) return collect(v, out);
    }
  }
  for (const auto& [k, v] : dict->entries) {
    if (k->kind == Value::Str && v->kind == Value::Tensor) out.emplace_back(k->s, v->tensor);
  }
}

}  // namespace py

/// Reads a torch.save zip file with the reader above.
StateDict read_python_state_dict(const std::string& path) {
  caffe2::serialize::PyTorchStreamReader zip(path);
  auto [pickle_ptr, pickle_size] = zip.getRecord("data.pkl");
  const std::string pickle(static_cast<const char*>(pickle_ptr.get()), pickle_size);
  auto load_storage = [&zip](const std::string& key, c10::ScalarType dtype, int64_t numel) {
    auto [ptr, size] = zip.getRecord("data/" + key);
    const int64_t bytes = numel * static_cast<int64_t>(c10::elementSize(dtype));
    if (static_cast<int64_t>(size) < bytes) {
      throw std::runtime_error("storage data/" + key + " holds " + std::to_string(size) +
                               " bytes, expected " + std::to_string(bytes));
    }
    // Copy out of the zip buffer: the record's memory is freed with `ptr`.
    return torch::from_blob(ptr.get(), {numel}, torch::TensorOptions().dtype(dtype)).clone();
  };
  py::Reader reader(pickle, load_storage);
  const auto root = reader.parse();
  if (root->kind != py::Value::Dict) throw std::runtime_error("the pickled object is not a dict");
  StateDict out;
  py::collect(root, out);
  return out;
}

}  // namespace

std::string WeightLoadReport::summary() const {
  std::ostringstream s;
  s << source << (prefix.empty() ? "" : " [" + prefix + "]") << ": loaded " << loaded.size()
    << ", missing " << missing.size() << ", unexpected " << unexpected.size();
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
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open weights file");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.empty()) throw Error(path + ": weights file is empty");
  StateDict out;
  torch::IValue value;
  std::string libtorch_error;
  try {
    value = torch::pickle_load(bytes);
  } catch (const std::exception& e) {
    libtorch_error = std::string(e.what()).substr(0, 200);
  }
  if (libtorch_error.empty()) {
    if (!value.isGenericDict()) {
      throw Error(path + ": expected a dict of tensors, found " + value.tagKind());
    }
    auto dict = value.toGenericDict();
    for (const char* wrapper : {"state_dict", "model_state_dict", "model"}) {
      auto it = dict.find(torch::IValue(std::string(wrapper)));
      if (it != dict.end() && it->value().isGenericDict()) {
        dict = it->value().toGenericDict();
        break;
      }
    }
    for (const auto& entry : dict) {
      if (!entry.key().isString() || !entry.value().isTensor()) continue;
      out.emplace_back(entry.key().toStringRef(), entry.value().toTensor());
    }
  } else {
    // Files written by Python's torch.save hold an OrderedDict, which LibTorch
    // 1.13's unpickler cannot rebuild: read them with our own reader.
    try {
      out = read_python_state_dict(path);
    } catch (const std::exception& e) {
      throw Error(path + ": not a PyTorch state_dict saved with torch.save (zip format): " +
                  std::string(e.what()).substr(0, 300) + " (LibTorch's loader: " + libtorch_error +
                  ")");
    }
  }
  for (auto& entry : out) entry.first = strip_module_prefix(entry.first);
  if (out.empty()) throw Error(path + ": holds no named tensors");
  return out;
}

void save_state_dict(const StateDict& tensors, const std::string& path) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, tensor] : tensors) dict.insert(name, tensor.detach().cpu());
  const std::vector<char> bytes = torch::pickle_save(torch::IValue(dict));
  std::ofstream out(path, std::ios::binary);
  if (!out) throw Error(path + ": cannot write weights file");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw Error(path + ": write failed");
}

void save_state_dict(const torch::nn::Module& module, const std::string& path) {
  save_state_dict(module_tensors(module), path);
}

WeightLoadReport load_state_dict(torch::nn::Module& module, const StateDict& tensors,
                                 const std::string& prefix, const std::string& source) {
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
                  " in the file (key '" + prefix + name + "') but " +
                  shape_string(target.sizes()) + " in the model");
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

WeightLoadReport load_state_dict(torch::nn::Module& module, const std::string& path,
                                 const std::string& prefix) {
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
