#include "dkd/models/pickle_reader.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>

#include <caffe2/serialize/inline_container.h>

#include "dkd/util/zip_verify.h"

namespace dkd {
namespace {

/// The Python values the reader builds, and the reader (see pickle_reader.h).
namespace py {

struct Value;
using Ptr = std::shared_ptr<Value>;
struct Value {
  enum Kind { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Global, Storage, Tensor, Opaque };
  Kind kind = None;
  int64_t i = 0;
  double f = 0.0;
  std::string s, s2;                         // Str/Bytes; Global: module, name
  std::vector<Ptr> items;                    // Tuple/List
  std::vector<std::pair<Ptr, Ptr>> entries;  // Dict (ordered)
  torch::Tensor tensor;                      // Storage (1-D) / Tensor
  int depth = 0;                             // nesting of containers below this one
};

// Limits that keep a hostile pickle from exhausting memory or the C++ stack
// (containers are destroyed recursively, so nesting must stay shallow).
constexpr std::size_t kMaxStack = 10'000'000;
constexpr int kMaxDepth = 1000;

Ptr make(Value::Kind k) {
  auto v = std::make_shared<Value>();
  v->kind = k;
  return v;
}

c10::ScalarType storage_dtype(const std::string& name) {
  static const std::map<std::string, c10::ScalarType> types = {
      {"FloatStorage", torch::kFloat},       {"DoubleStorage", torch::kDouble}, {"HalfStorage", torch::kHalf},
      {"BFloat16Storage", torch::kBFloat16}, {"LongStorage", torch::kLong},     {"IntStorage", torch::kInt},
      {"ShortStorage", torch::kShort},       {"CharStorage", torch::kChar},     {"ByteStorage", torch::kByte},
      {"BoolStorage", torch::kBool}};
  auto it = types.find(name);
  if (it == types.end()) throw std::runtime_error("unsupported storage type torch." + name);
  return it->second;
}

/// Frees a value graph without recursion and breaks its cycles (a memoised
/// container may contain itself), so neither the C++ stack nor memory suffers.
void dismantle(std::vector<Ptr> work) {
  while (!work.empty()) {
    Ptr v = std::move(work.back());
    work.pop_back();
    if (!v) continue;
    for (auto& item : v->items) work.push_back(std::move(item));
    v->items.clear();
    for (auto& [k, x] : v->entries) {
      work.push_back(std::move(k));
      work.push_back(std::move(x));
    }
    v->entries.clear();
  }
}

class Reader {
 public:
  Reader(const std::string& pickle, std::function<torch::Tensor(const std::string&, c10::ScalarType, int64_t)> storage)
      : data_(pickle), load_storage_(std::move(storage)) {}
  ~Reader() {
    std::vector<Ptr> all(stack_.begin(), stack_.end());
    for (auto& [key, v] : memo_) all.push_back(v);
    stack_.clear();
    memo_.clear();
    dismantle(std::move(all));
  }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  Ptr parse() {
    while (true) {
      const uint8_t op = byte();
      if (op == '.') return pop();  // STOP
      if (!stream_op(op) && !scalar_op(op) && !container_op(op) && !object_op(op))
        throw std::runtime_error("unsupported pickle opcode 0x" + hex(op) + " at byte " + std::to_string(pos_ - 1));
    }
  }

 private:
  // Each *_op runs opcode `op` when it belongs to its group and says whether it did.

  /// Protocol, framing, marks and the memo (storing and fetching values already built).
  bool stream_op(uint8_t op) {
    switch (op) {
      case 0x80:
        byte();
        break;  // PROTO
      case 0x95:
        fixed(8);
        break;  // FRAME
      case '(':
        marks_.push_back(stack_.size());
        break;  // MARK
      case 'q':
        memo_[le(1)] = top();
        break;  // BINPUT
      case 'r':
        memo_[le(4)] = top();
        break;  // LONG_BINPUT
      case 0x94:
        memo_[memo_.size()] = top();
        break;  // MEMOIZE
      case 'h':
        push(memo(le(1)));
        break;  // BINGET
      case 'j':
        push(memo(le(4)));
        break;  // LONG_BINGET
      default:
        return false;
    }
    return true;
  }

  /// None, booleans, integers, floats, strings and bytes.
  bool scalar_op(uint8_t op) {
    switch (op) {
      case 'N':
        push(make(Value::None));
        break;
      case 0x88:
      case 0x89: {
        auto v = make(Value::Bool);
        v->i = op == 0x88;
        push(v);
      } break;
      case 'J':
        push_int(static_cast<int32_t>(le(4)));
        break;  // BININT
      case 'K':
        push_int(le(1));
        break;  // BININT1
      case 'M':
        push_int(le(2));
        break;  // BININT2
      case 0x8a: {
        const auto n = le(1);
        push_int(signed_le(n));
      } break;  // LONG1
      case 0x8b: {
        const auto n = le(4);
        push_int(signed_le(n));
      } break;     // LONG4
      case 'G': {  // BINFLOAT (big-endian)
        uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | byte();
        auto v = make(Value::Float);
        std::memcpy(&v->f, &bits, 8);
        push(v);
      } break;
      case 'X':
        push_str(Value::Str, le(4));
        break;  // BINUNICODE
      case 0x8c:
        push_str(Value::Str, le(1));
        break;  // SHORT_BINUNICODE
      case 0x8d:
        push_str(Value::Str, le(8));
        break;  // BINUNICODE8
      case 'T':
        push_str(Value::Str, le(4));
        break;  // BINSTRING
      case 'U':
        push_str(Value::Str, le(1));
        break;  // SHORT_BINSTRING
      case 'B':
        push_str(Value::Bytes, le(4));
        break;  // BINBYTES
      case 'C':
        push_str(Value::Bytes, le(1));
        break;  // SHORT_BINBYTES
      case 0x8e:
        push_str(Value::Bytes, le(8));
        break;  // BINBYTES8
      default:
        return false;
    }
    return true;
  }

  /// Tuples, lists and dicts: built, filled and appended to.
  bool container_op(uint8_t op) {
    switch (op) {
      case ')':
        push(make(Value::Tuple));
        break;  // EMPTY_TUPLE
      case ']':
        push(make(Value::List));
        break;  // EMPTY_LIST
      case '}':
        push(make(Value::Dict));
        break;  // EMPTY_DICT
      case 't': {
        auto v = make(Value::Tuple);
        v->items = pop_mark();
        push(contain(v));
      } break;
      case 'l': {
        auto v = make(Value::List);
        v->items = pop_mark();
        push(contain(v));
      } break;
      case 'd': {
        auto v = make(Value::Dict);
        set_items(v, pop_mark());
        push(v);
      } break;
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        const size_t n = op - 0x84;
        if (stack_.size() < n + floor())
          throw std::runtime_error("pickle TUPLE" + std::to_string(n) + " at byte " + std::to_string(pos_ - 1) +
                                   " needs " + std::to_string(n) + " values, the stack holds " +
                                   std::to_string(stack_.size() - floor()));
        auto v = make(Value::Tuple);
        v->items.assign(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
        stack_.resize(stack_.size() - n);
        push(contain(v));
      } break;
      case 's': {  // SETITEM
        auto value = pop(), key = pop();
        set_items(top(), {key, value});
      } break;
      case 'u': {
        auto kv = pop_mark();
        set_items(top(), kv);
      } break;  // SETITEMS
      case 'a': {
        auto v = pop();
        append(top(), {v});
      } break;  // APPEND
      case 'e': {
        auto vs = pop_mark();
        append(top(), vs);
      } break;  // APPENDS
      default:
        return false;
    }
    return true;
  }

  /// Globals, persistent ids (storages) and the calls that rebuild tensors.
  bool object_op(uint8_t op) {
    switch (op) {
      case 'c': {  // GLOBAL
        auto v = make(Value::Global);
        v->s = line();
        v->s2 = line();
        push(v);
      } break;
      case 0x93: {  // STACK_GLOBAL
        auto name = pop(), module = pop();
        auto v = make(Value::Global);
        v->s = module->s;
        v->s2 = name->s;
        push(v);
      } break;
      case 'Q':
        push(persistent(pop()));
        break;     // BINPERSID
      case 'R': {  // REDUCE
        auto args = pop(), callable = pop();
        push(reduce(callable, args));
      } break;
      case 0x81: {
        pop();
        pop();
        push(make(Value::Opaque));
      } break;  // NEWOBJ
      case 'b':
        pop();
        break;  // BUILD: state ignored
      default:
        return false;
    }
    return true;
  }

  uint8_t byte() {
    if (pos_ >= data_.size()) throw std::runtime_error("pickle ends early");
    return static_cast<uint8_t>(data_[pos_++]);
  }
  std::string fixed(uint64_t n) {
    // Compared this way round so a huge length cannot wrap the position.
    if (n > data_.size() - pos_)
      throw std::runtime_error("pickle ends early (a length of " + std::to_string(n) + " bytes at byte " +
                               std::to_string(pos_) + ")");
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
    push(v);
  }
  void push_str(Value::Kind kind, uint64_t n) {
    auto v = make(kind);
    v->s = fixed(n);
    push(v);
  }
  /// Values below the newest MARK belong to an enclosing container.
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(Ptr v) {
    if (stack_.size() >= kMaxStack) throw std::runtime_error("pickle stack too deep");
    stack_.push_back(std::move(v));
  }
  Ptr memo(uint64_t key) const {
    const auto it = memo_.find(key);
    if (it == memo_.end()) throw std::runtime_error("pickle memo key " + std::to_string(key) + " was never stored");
    return it->second;
  }
  /// Records the nesting depth of a container built from `v->items`.
  static Ptr contain(Ptr v) {
    for (const auto& item : v->items) grow(v, item);
    return v;
  }
  static void grow(const Ptr& target, const Ptr& child) {
    target->depth = std::max(target->depth, child->depth + 1);
    if (target->depth > kMaxDepth) throw std::runtime_error("pickle nests containers too deeply");
  }
  Ptr pop() {
    if (stack_.size() <= floor())
      throw std::runtime_error("pickle stack underflow at byte " + std::to_string(pos_ - 1));
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Ptr top() {
    if (stack_.size() <= floor())
      throw std::runtime_error("pickle stack underflow at byte " + std::to_string(pos_ - 1));
    return stack_.back();
  }
  std::vector<Ptr> pop_mark() {
    if (marks_.empty()) throw std::runtime_error("pickle MARK missing");
    const size_t m = marks_.back();
    marks_.pop_back();
    if (m > stack_.size()) throw std::runtime_error("pickle MARK lies above the stack");
    std::vector<Ptr> items(stack_.begin() + m, stack_.end());
    stack_.resize(m);
    return items;
  }
  static void set_items(const Ptr& target, const std::vector<Ptr>& kv) {
    if (target->kind != Value::Dict) return;  // e.g. items of an opaque object
    for (size_t k = 0; k + 1 < kv.size(); k += 2) {
      grow(target, kv[k]);
      grow(target, kv[k + 1]);
      target->entries.emplace_back(kv[k], kv[k + 1]);
    }
  }
  static void append(const Ptr& target, const std::vector<Ptr>& items) {
    if (target->kind != Value::List) return;
    for (const auto& item : items) grow(target, item);
    target->items.insert(target->items.end(), items.begin(), items.end());
  }
  static int64_t as_int(const Ptr& v, const char* what) {
    if (v->kind != Value::Int && v->kind != Value::Bool)
      throw std::runtime_error(std::string("pickle: ") + what + " is not an integer");
    return v->i;
  }
  static std::vector<int64_t> int_tuple(const Ptr& v, const char* what) {
    if (v->kind != Value::Tuple && v->kind != Value::List)
      throw std::runtime_error(std::string("pickle: tensor ") + what + " is not a tuple");
    std::vector<int64_t> out;
    for (const auto& e : v->items) out.push_back(as_int(e, what));
    return out;
  }

  Ptr persistent(const Ptr& pid) {
    // ('storage', torch.<Type>Storage, key, location, numel)
    if (pid->kind != Value::Tuple || pid->items.size() < 5 || pid->items[0]->s != "storage" ||
        pid->items[1]->kind != Value::Global || pid->items[2]->kind != Value::Str) {
      throw std::runtime_error("unsupported persistent id (not a torch storage)");
    }
    const auto dtype = storage_dtype(pid->items[1]->s2);
    const int64_t numel = as_int(pid->items[4], "storage size");
    if (numel < 0) throw std::runtime_error("storage " + pid->items[2]->s + " has a negative size");
    auto v = make(Value::Storage);
    v->i = numel;
    // Without a loader (validation) a storage is only its size.
    if (load_storage_) v->tensor = load_storage_(pid->items[2]->s, dtype, numel);
    return v;
  }

  Ptr reduce(const Ptr& callable, const Ptr& args) {
    if (callable->kind != Value::Global) return make(Value::Opaque);
    const std::string name = callable->s + "." + callable->s2;
    if (name == "collections.OrderedDict" || name == "builtins.dict") return make(Value::Dict);
    if ((name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") &&
        args->items.size() >= 4 && args->items[0]->kind == Value::Storage) {
      const torch::Tensor& storage = args->items[0]->tensor;
      const int64_t offset = as_int(args->items[1], "tensor storage offset");
      const auto sizes = int_tuple(args->items[2], "sizes");
      const auto strides = int_tuple(args->items[3], "strides");
      check_view(storage.defined() ? storage.numel() : args->items[0]->i, offset, sizes, strides);
      auto v = make(Value::Tensor);
      if (storage.defined()) v->tensor = storage.as_strided(sizes, strides, offset);
      return v;
    }
    // torch::pickle_save tags typed containers: restore_type_tag(value, "Dict[str, Tensor]").
    if (name == "torch.jit._pickle.restore_type_tag" && !args->items.empty()) return args->items[0];
    if (name == "torch._utils._rebuild_parameter" && !args->items.empty() && args->items[0]->kind == Value::Tensor) {
      return args->items[0];
    }
    return make(Value::Opaque);
  }

  /// A tensor view must stay inside its storage: checked here with overflow-safe
  /// arithmetic rather than trusting the file.
  static void check_view(int64_t storage_numel, int64_t offset, const std::vector<int64_t>& sizes,
                         const std::vector<int64_t>& strides) {
    if (sizes.size() != strides.size())
      throw std::runtime_error("tensor has " + std::to_string(sizes.size()) + " sizes but " +
                               std::to_string(strides.size()) + " strides");
    if (offset < 0) throw std::runtime_error("tensor has a negative storage offset");
    constexpr int64_t kLimit = int64_t{1} << 62;
    int64_t last = offset;  // largest element index the view touches
    for (size_t d = 0; d < sizes.size(); ++d) {
      if (sizes[d] < 0 || strides[d] < 0) throw std::runtime_error("tensor has a negative size or stride");
      if (sizes[d] == 0) return;  // empty: touches nothing
      if (sizes[d] > kLimit || strides[d] > kLimit || (strides[d] > 0 && sizes[d] - 1 > (kLimit - last) / strides[d]))
        throw std::runtime_error("tensor sizes overflow");
      last += (sizes[d] - 1) * strides[d];
    }
    if (last >= storage_numel)
      throw std::runtime_error("tensor view reaches element " + std::to_string(last) + " of a storage of " +
                               std::to_string(storage_numel));
  }

  const std::string& data_;
  size_t pos_ = 0;
  std::function<torch::Tensor(const std::string&, c10::ScalarType, int64_t)> load_storage_;
  std::vector<Ptr> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, Ptr> memo_;
};

/// Named tensors of a dict (unwrapping checkpoint dicts as read_state_dict does).
/// `depth` bounds the unwrapping: a memoised dict can contain itself.
void collect(const Ptr& dict, StateDict& out, int depth = 0) {
  if (depth > 8) throw std::runtime_error("checkpoint dicts nested too deeply (or cyclic)");
  for (const char* wrapper : {"state_dict", "model_state_dict", "model"}) {
    for (const auto& [k, v] : dict->entries) {
      if (k->kind == Value::Str && k->s == wrapper && v->kind == Value::Dict) return collect(v, out, depth + 1);
    }
  }
  for (const auto& [k, v] : dict->entries) {
    if (k->kind == Value::Str && v->kind == Value::Tensor && v->tensor.defined()) out.emplace_back(k->s, v->tensor);
  }
}

}  // namespace py

}  // namespace

StateDict parse_state_dict_pickle(const std::string& pickle, const StorageLoader& load_storage) {
  py::Ptr root;
  StateDict out;
  try {
    py::Reader reader(pickle, load_storage);
    root = reader.parse();
    if (root->kind != py::Value::Dict) throw std::runtime_error("the pickled object is not a dict");
    py::collect(root, out);
  } catch (...) {
    py::dismantle({root});
    throw;
  }
  py::dismantle({root});
  return out;
}

void validate_pickle(const std::string& pickle) {
  py::Ptr root;
  try {
    py::Reader reader(pickle, nullptr);
    root = reader.parse();
  } catch (...) {
    py::dismantle({root});
    throw;
  }
  py::dismantle({root});
}

void validate_torch_archive(const std::string& path) {
  verify_zip_archive(path);
  caffe2::serialize::PyTorchStreamReader zip(path);
  for (const std::string& name : zip.getAllRecords()) {
    if (name.size() < 4 || name.compare(name.size() - 4, 4, ".pkl") != 0) continue;
    auto [ptr, size] = zip.getRecord(name);
    try {
      validate_pickle(std::string(static_cast<const char*>(ptr.get()), size));
    } catch (const std::exception& e) {
      throw std::runtime_error(name + ": " + e.what());
    }
  }
}

StateDict read_pickled_state_dict(const std::string& path) {
  verify_zip_archive(path);  // every record intact before anything is parsed
  caffe2::serialize::PyTorchStreamReader zip(path);
  if (!zip.hasRecord("data.pkl")) throw std::runtime_error("the archive has no data.pkl");
  auto [pickle_ptr, pickle_size] = zip.getRecord("data.pkl");
  const std::string pickle(static_cast<const char*>(pickle_ptr.get()), pickle_size);
  // One copy per storage however often the pickle names it (as Python's loader does).
  std::map<std::string, torch::Tensor> loaded;
  auto load_storage = [&zip, &loaded](const std::string& key, c10::ScalarType dtype, int64_t numel) {
    if (auto it = loaded.find(key); it != loaded.end()) {
      if (it->second.scalar_type() != dtype || it->second.numel() < numel)
        throw std::runtime_error("storage data/" + key + " is named with two different types or sizes");
      return it->second;
    }
    if (!zip.hasRecord("data/" + key)) throw std::runtime_error("storage data/" + key + " is missing");
    auto [ptr, size] = zip.getRecord("data/" + key);
    const auto element = static_cast<int64_t>(c10::elementSize(dtype));
    // numel comes from the file: compare by division so it cannot overflow.
    if (numel > static_cast<int64_t>(size) / element) {
      throw std::runtime_error("storage data/" + key + " holds " + std::to_string(size) + " bytes, expected " +
                               std::to_string(numel) + " elements of " + std::to_string(element) + " bytes");
    }
    // Copy out of the zip buffer: the record's memory is freed with `ptr`.
    auto storage = torch::from_blob(ptr.get(), {numel}, torch::TensorOptions().dtype(dtype)).clone();
    loaded.emplace(key, storage);
    return storage;
  };
  return parse_state_dict_pickle(pickle, load_storage);
}

}  // namespace dkd
