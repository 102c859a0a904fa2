#include "dkd/models/tflite_reader.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>

#include "dkd/util/error.h"

namespace dkd {

namespace {

// Schema numbers (tensorflow/lite/schema/schema.fbs).
constexpr int kBuiltinAdd = 0, kBuiltinConv2d = 3, kBuiltinDepthwiseConv2d = 4, kBuiltinDequantize = 6,
              kBuiltinLogistic = 14, kBuiltinMaxPool2d = 17, kBuiltinReshape = 22, kBuiltinResizeBilinear = 23,
              kBuiltinPad = 34;
// BuiltinOptions union members (1-based position in the union).
constexpr int kOptionsConv2d = 1, kOptionsDepthwiseConv2d = 2, kOptionsPool2d = 5, kOptionsAdd = 11,
              kOptionsResizeBilinear = 15;
// Model fields.
constexpr int kModelVersion = 0, kModelOperatorCodes = 1, kModelSubgraphs = 2, kModelBuffers = 4;
// OperatorCode: deprecated_builtin_code (byte, 0), custom_code (1), version (2), builtin_code (int, 3).
constexpr int kCodeDeprecatedBuiltin = 0, kCodeCustom = 1, kCodeBuiltin = 3;
// SubGraph: tensors, inputs, outputs, operators.
constexpr int kGraphTensors = 0, kGraphInputs = 1, kGraphOutputs = 2, kGraphOperators = 3;
// Tensor: shape, type, buffer, name.
constexpr int kTensorShape = 0, kTensorType = 1, kTensorBuffer = 2, kTensorName = 3, kTensorSparsity = 6;
// Buffer: data; offset and size (field 1, 2) place data outside the flatbuffer (files > 2 GB).
constexpr int kBufferData = 0, kBufferOffset = 1;
// Operator: opcode_index, inputs, outputs, builtin_options_type, builtin_options.
constexpr int kOpCodeIndex = 0, kOpInputs = 1, kOpOutputs = 2, kOpOptionsType = 3, kOpOptions = 4;

// Bounds that no real network of this kind comes near; they keep a corrupt
// count from turning into a huge allocation.
constexpr uint32_t kMaxCount = 1u << 20;
constexpr int64_t kMaxElements = int64_t{1} << 31;

/// A flatbuffer over `bytes` whose every read is bounds-checked.
class Flatbuffer {
 public:
  Flatbuffer(const std::string& bytes, const std::string& origin) : b_(bytes), origin_(origin) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw DataError(origin_, "not a valid TFLite file: " + what);
  }

  void need(uint64_t pos, uint64_t size, const char* what) const {
    if (pos > b_.size() || size > b_.size() - pos) {
      fail(std::string(what) + " at byte " + std::to_string(pos) + " (+" + std::to_string(size) +
           ") is outside the file (" + std::to_string(b_.size()) + " bytes; truncated?)");
    }
  }
  template <class T>
  T read(uint64_t pos, const char* what) const {
    need(pos, sizeof(T), what);
    T v;
    std::memcpy(&v, b_.data() + pos, sizeof(T));
    return v;
  }
  const char* data(uint64_t pos) const { return b_.data() + pos; }

  /// The table an offset at `pos` points to.
  uint64_t deref(uint64_t pos, const char* what) const {
    const uint32_t off = read<uint32_t>(pos, what);
    const uint64_t target = pos + off;
    need(target, 4, what);
    return target;
  }

 private:
  const std::string& b_;
  std::string origin_;
};

/// One table: its fields by id, absent fields giving their defaults.
class Table {
 public:
  Table(const Flatbuffer& fb, uint64_t pos, const char* what) : fb_(fb), pos_(pos), what_(what) {
    const int32_t soff = fb.read<int32_t>(pos, what);
    const int64_t vt = static_cast<int64_t>(pos) - soff;
    if (vt < 0) fb.fail(std::string(what) + ": vtable offset before the file start");
    vtable_ = static_cast<uint64_t>(vt);
    vtable_size_ = fb.read<uint16_t>(vtable_, what);
    if (vtable_size_ < 4 || vtable_size_ % 2 != 0) fb.fail(std::string(what) + ": bad vtable size");
    fb.need(vtable_, vtable_size_, what);
    table_size_ = fb.read<uint16_t>(vtable_ + 2, what);
    fb.need(pos_, table_size_, what);
  }

  /// Byte position of field `id`, or 0 when the field is absent.
  uint64_t field(int id) const {
    const uint64_t entry = 4 + 2 * static_cast<uint64_t>(id);
    if (entry + 2 > vtable_size_) return 0;
    const uint16_t off = fb_.read<uint16_t>(vtable_ + entry, what_);
    if (off == 0) return 0;
    if (off >= table_size_) fb_.fail(std::string(what_) + ": field " + std::to_string(id) + " outside its table");
    return pos_ + off;
  }
  bool has(int id) const { return field(id) != 0; }

  template <class T>
  T scalar(int id, T fallback) const {
    const uint64_t p = field(id);
    return p == 0 ? fallback : fb_.read<T>(p, what_);
  }
  /// A sub-table; `present` says whether the field exists.
  Table table(int id, const char* what) const {
    const uint64_t p = field(id);
    if (p == 0) fb_.fail(std::string(what_) + ": missing " + what);
    return Table(fb_, fb_.deref(p, what), what);
  }
  /// Position of a vector's first element and its length (0, 0 when absent).
  std::pair<uint64_t, uint32_t> vector(int id, uint64_t element_size, const char* what) const {
    const uint64_t p = field(id);
    if (p == 0) return {0, 0};
    const uint64_t v = fb_.deref(p, what);
    const uint32_t n = fb_.read<uint32_t>(v, what);
    if (n > kMaxCount && element_size > 1) fb_.fail(std::string(what) + ": " + std::to_string(n) + " elements");
    fb_.need(v + 4, static_cast<uint64_t>(n) * element_size, what);
    return {v + 4, n};
  }
  std::vector<int32_t> ints(int id, const char* what) const {
    const auto [start, n] = vector(id, 4, what);
    std::vector<int32_t> out(n);
    if (n > 0) std::memcpy(out.data(), fb_.data(start), 4 * static_cast<size_t>(n));
    return out;
  }
  std::string string(int id, const char* what) const {
    const auto [start, n] = vector(id, 1, what);
    return n == 0 ? std::string() : std::string(fb_.data(start), n);
  }
  /// The tables of a vector of tables.
  std::vector<Table> tables(int id, const char* what) const {
    const auto [start, n] = vector(id, 4, what);
    std::vector<Table> out;
    out.reserve(n);
    for (uint32_t i = 0; i < n; ++i) out.emplace_back(fb_, fb_.deref(start + 4 * static_cast<uint64_t>(i), what), what);
    return out;
  }

 private:
  const Flatbuffer& fb_;
  uint64_t pos_;
  const char* what_;
  uint64_t vtable_ = 0;
  uint16_t vtable_size_ = 0;
  uint16_t table_size_ = 0;
};

TfliteActivation activation_of(int8_t code, const Flatbuffer& fb, const std::string& op) {
  switch (code) {
    case 0:
      return TfliteActivation::none;
    case 1:
      return TfliteActivation::relu;
    case 3:
      return TfliteActivation::relu6;
    default:
      fb.fail(op + ": fused activation " + std::to_string(code) + " is not supported (NONE, RELU, RELU6)");
  }
}

size_t element_size(TfliteType t) { return t == TfliteType::float16 ? 2 : 4; }

void check_counts(const TfliteOperator& op, size_t min_inputs, size_t max_inputs, const Flatbuffer& fb, size_t index) {
  if (op.inputs.size() < min_inputs || op.inputs.size() > max_inputs || op.outputs.size() != 1) {
    fb.fail("operator " + std::to_string(index) + " (" + tflite_op_name(op.kind) + ") has " +
            std::to_string(op.inputs.size()) + " inputs and " + std::to_string(op.outputs.size()) + " outputs");
  }
}

}  // namespace

const char* tflite_op_name(TfliteOpKind kind) {
  switch (kind) {
    case TfliteOpKind::add:
      return "ADD";
    case TfliteOpKind::conv_2d:
      return "CONV_2D";
    case TfliteOpKind::depthwise_conv_2d:
      return "DEPTHWISE_CONV_2D";
    case TfliteOpKind::dequantize:
      return "DEQUANTIZE";
    case TfliteOpKind::logistic:
      return "LOGISTIC";
    case TfliteOpKind::max_pool_2d:
      return "MAX_POOL_2D";
    case TfliteOpKind::pad:
      return "PAD";
    case TfliteOpKind::reshape:
      return "RESHAPE";
    case TfliteOpKind::resize_bilinear:
      return "RESIZE_BILINEAR";
  }
  return "?";
}

int64_t TfliteTensor::numel() const {
  int64_t n = 1;
  for (const int32_t d : shape) n *= d;
  return n;
}

float half_to_float(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1fu;
  uint32_t mantissa = bits & 0x3ffu;
  uint32_t out;
  if (exponent == 0) {
    if (mantissa == 0) {
      out = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mantissa <<= 1;
      } while ((mantissa & 0x400u) == 0);
      out = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mantissa & 0x3ffu) << 13);
    }
  } else if (exponent == 31) {
    out = sign | 0x7f800000u | (mantissa << 13);
  } else {
    out = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &out, sizeof f);
  return f;
}

const TfliteTensor& TfliteModel::tensor(int32_t index) const {
  if (index < 0 || static_cast<size_t>(index) >= tensors.size()) {
    throw DataError(path, "tensor index " + std::to_string(index) + " out of range");
  }
  return tensors[static_cast<size_t>(index)];
}

bool TfliteModel::is_constant(int32_t index) const {
  const TfliteTensor& t = tensor(index);
  return t.buffer != 0 && !buffers[t.buffer].empty();
}

std::vector<float> TfliteModel::floats(int32_t index) const {
  const TfliteTensor& t = tensor(index);
  if (!is_constant(index)) throw DataError(path, "tensor '" + t.name + "' has no constant data");
  const std::string& b = buffers[t.buffer];
  std::vector<float> out(static_cast<size_t>(t.numel()));
  if (t.type == TfliteType::float32) {
    std::memcpy(out.data(), b.data(), out.size() * 4);
  } else if (t.type == TfliteType::float16) {
    for (size_t i = 0; i < out.size(); ++i) {
      uint16_t h;
      std::memcpy(&h, b.data() + 2 * i, 2);
      out[i] = half_to_float(h);
    }
  } else {
    throw DataError(path, "tensor '" + t.name + "' is not a float tensor");
  }
  return out;
}

std::vector<int32_t> TfliteModel::ints(int32_t index) const {
  const TfliteTensor& t = tensor(index);
  if (!is_constant(index) || t.type != TfliteType::int32) {
    throw DataError(path, "tensor '" + t.name + "' is not a constant INT32 tensor");
  }
  std::vector<int32_t> out(static_cast<size_t>(t.numel()));
  std::memcpy(out.data(), buffers[t.buffer].data(), out.size() * 4);
  return out;
}

TfliteModel parse_tflite(const std::string& bytes, const std::string& origin) {
  Flatbuffer fb(bytes, origin);
  if (bytes.size() < 8) fb.fail("only " + std::to_string(bytes.size()) + " bytes");
  if (std::memcmp(bytes.data() + 4, "TFL3", 4) != 0) fb.fail("no TFL3 file identifier at byte 4");
  const Table model(fb, fb.deref(0, "root table"), "Model");

  TfliteModel out;
  out.path = origin;
  out.version = model.scalar<uint32_t>(kModelVersion, 0);
  if (out.version != 3) fb.fail("schema version " + std::to_string(out.version) + " (expected 3)");

  // Buffers first: tensors refer to them by index.
  for (const Table& buffer : model.tables(kModelBuffers, "Buffer")) {
    if (buffer.scalar<uint64_t>(kBufferOffset, 0) > 1)
      fb.fail("a buffer stored outside the flatbuffer (> 2 GB models)");
    const auto [start, n] = buffer.vector(kBufferData, 1, "Buffer.data");
    out.buffers.emplace_back(n == 0 ? std::string() : std::string(fb.data(start), n));
  }
  if (out.buffers.empty()) out.buffers.emplace_back();

  // Operator codes -> kinds (an unknown code is only an error when an operator uses it).
  std::vector<int> codes;
  for (const Table& code : model.tables(kModelOperatorCodes, "OperatorCode")) {
    const int deprecated = code.scalar<int8_t>(kCodeDeprecatedBuiltin, 0);
    const int builtin = code.scalar<int32_t>(kCodeBuiltin, 0);
    codes.push_back(code.has(kCodeCustom) ? -1 : std::max(deprecated, builtin));
  }

  const std::vector<Table> graphs = model.tables(kModelSubgraphs, "SubGraph");
  if (graphs.empty()) fb.fail("no subgraph");
  const Table& graph = graphs.front();

  for (const Table& t : graph.tables(kGraphTensors, "Tensor")) {
    TfliteTensor tensor;
    tensor.shape = t.ints(kTensorShape, "Tensor.shape");
    tensor.name = t.string(kTensorName, "Tensor.name");
    const int8_t type = t.scalar<int8_t>(kTensorType, 0);
    if (type != 0 && type != 1 && type != 2) {
      fb.fail("tensor '" + tensor.name + "' has type " + std::to_string(type) + " (FLOAT32, FLOAT16, INT32 supported)");
    }
    if (t.has(kTensorSparsity)) fb.fail("tensor '" + tensor.name + "' is sparse (DENSIFY is not supported)");
    tensor.type = static_cast<TfliteType>(type);
    tensor.buffer = t.scalar<uint32_t>(kTensorBuffer, 0);
    int64_t n = 1;
    for (const int32_t d : tensor.shape) {
      if (d < 0) fb.fail("tensor '" + tensor.name + "' has a negative dimension");
      n *= d;
      if (n > kMaxElements) fb.fail("tensor '" + tensor.name + "' has more than 2^31 elements");
    }
    if (tensor.buffer >= out.buffers.size()) {
      fb.fail("tensor '" + tensor.name + "' refers to buffer " + std::to_string(tensor.buffer) + " of " +
              std::to_string(out.buffers.size()));
    }
    const std::string& data = out.buffers[tensor.buffer];
    if (!data.empty() && data.size() != static_cast<size_t>(n) * element_size(tensor.type)) {
      fb.fail("tensor '" + tensor.name + "' holds " + std::to_string(data.size()) + " bytes for " + std::to_string(n) +
              " elements");
    }
    out.tensors.push_back(std::move(tensor));
  }
  const auto check_indices = [&](const std::vector<int32_t>& indices, const std::string& what, bool optional) {
    for (const int32_t i : indices) {
      if ((i == -1 && optional)) continue;
      if (i < 0 || static_cast<size_t>(i) >= out.tensors.size()) {
        fb.fail(what + " names tensor " + std::to_string(i) + " of " + std::to_string(out.tensors.size()));
      }
    }
  };
  out.inputs = graph.ints(kGraphInputs, "SubGraph.inputs");
  out.outputs = graph.ints(kGraphOutputs, "SubGraph.outputs");
  check_indices(out.inputs, "the graph's inputs", false);
  check_indices(out.outputs, "the graph's outputs", false);
  if (out.inputs.empty() || out.outputs.empty()) fb.fail("the graph has no input or no output");

  const std::vector<Table> ops = graph.tables(kGraphOperators, "Operator");
  for (size_t k = 0; k < ops.size(); ++k) {
    const Table& o = ops[k];
    TfliteOperator op;
    const uint32_t code_index = o.scalar<uint32_t>(kOpCodeIndex, 0);
    if (code_index >= codes.size())
      fb.fail("operator " + std::to_string(k) + " has operator code " + std::to_string(code_index));
    const int code = codes[code_index];
    op.inputs = o.ints(kOpInputs, "Operator.inputs");
    op.outputs = o.ints(kOpOutputs, "Operator.outputs");
    check_indices(op.inputs, "operator " + std::to_string(k) + "'s inputs", true);
    check_indices(op.outputs, "operator " + std::to_string(k) + "'s outputs", false);
    const int options_type = o.scalar<uint8_t>(kOpOptionsType, 0);
    const auto options = [&](int expected) {
      if (options_type != expected) {
        fb.fail("operator " + std::to_string(k) + " (" + tflite_op_name(op.kind) + ") has options of type " +
                std::to_string(options_type));
      }
      return o.table(kOpOptions, "builtin_options");
    };
    const std::string name = "operator " + std::to_string(k);
    switch (code) {
      case kBuiltinAdd: {
        op.kind = TfliteOpKind::add;
        check_counts(op, 2, 2, fb, k);
        if (options_type != 0) op.activation = activation_of(options(kOptionsAdd).scalar<int8_t>(0, 0), fb, name);
        break;
      }
      case kBuiltinConv2d:
      case kBuiltinDepthwiseConv2d: {
        const bool depthwise = code == kBuiltinDepthwiseConv2d;
        op.kind = depthwise ? TfliteOpKind::depthwise_conv_2d : TfliteOpKind::conv_2d;
        check_counts(op, 2, 3, fb, k);
        const Table t = options(depthwise ? kOptionsDepthwiseConv2d : kOptionsConv2d);
        // Conv2DOptions: padding, stride_w, stride_h, activation, dilation_w, dilation_h;
        // DepthwiseConv2DOptions: padding, stride_w, stride_h, depth_multiplier, activation, dilation_w, dilation_h.
        const int shift = depthwise ? 1 : 0;
        op.same_padding = t.scalar<int8_t>(0, 0) == 0;
        op.stride_w = t.scalar<int32_t>(1, 1);
        op.stride_h = t.scalar<int32_t>(2, 1);
        if (depthwise) op.depth_multiplier = t.scalar<int32_t>(3, 1);
        op.activation = activation_of(t.scalar<int8_t>(3 + shift, 0), fb, name);
        op.dilation_w = t.scalar<int32_t>(4 + shift, 1);
        op.dilation_h = t.scalar<int32_t>(5 + shift, 1);
        break;
      }
      case kBuiltinDequantize:
        op.kind = TfliteOpKind::dequantize;
        check_counts(op, 1, 1, fb, k);
        break;
      case kBuiltinLogistic:
        op.kind = TfliteOpKind::logistic;
        check_counts(op, 1, 1, fb, k);
        break;
      case kBuiltinMaxPool2d: {
        op.kind = TfliteOpKind::max_pool_2d;
        check_counts(op, 1, 1, fb, k);
        const Table t = options(kOptionsPool2d);
        op.same_padding = t.scalar<int8_t>(0, 0) == 0;
        op.stride_w = t.scalar<int32_t>(1, 1);
        op.stride_h = t.scalar<int32_t>(2, 1);
        op.filter_w = t.scalar<int32_t>(3, 1);
        op.filter_h = t.scalar<int32_t>(4, 1);
        op.activation = activation_of(t.scalar<int8_t>(5, 0), fb, name);
        break;
      }
      case kBuiltinPad:
        op.kind = TfliteOpKind::pad;
        check_counts(op, 2, 2, fb, k);
        break;
      case kBuiltinReshape:
        op.kind = TfliteOpKind::reshape;
        check_counts(op, 1, 2, fb, k);
        break;
      case kBuiltinResizeBilinear: {
        op.kind = TfliteOpKind::resize_bilinear;
        check_counts(op, 2, 2, fb, k);
        if (options_type != 0) {
          const Table t = options(kOptionsResizeBilinear);
          op.align_corners = t.scalar<uint8_t>(2, 0) != 0;
          op.half_pixel_centers = t.scalar<uint8_t>(3, 0) != 0;
        }
        break;
      }
      default:
        fb.fail("operator " + std::to_string(k) + " has builtin code " + std::to_string(code) +
                " (only ADD, CONV_2D, DEPTHWISE_CONV_2D, DEQUANTIZE, LOGISTIC, MAX_POOL_2D, PAD, RESHAPE, "
                "RESIZE_BILINEAR are supported)");
    }
    if (op.stride_h < 1 || op.stride_w < 1 || op.dilation_h < 1 || op.dilation_w < 1 || op.depth_multiplier < 1 ||
        op.filter_h < 0 || op.filter_w < 0 || op.stride_h > 64 || op.stride_w > 64 || op.dilation_h > 64 ||
        op.dilation_w > 64 || op.filter_h > 256 || op.filter_w > 256) {
      fb.fail("operator " + std::to_string(k) + " (" + tflite_op_name(op.kind) +
              ") has an invalid stride, dilation, "
              "filter size or depth multiplier");
    }
    for (const int32_t i : op.inputs) {
      if (i == -1 && !(op.kind == TfliteOpKind::conv_2d || op.kind == TfliteOpKind::depthwise_conv_2d)) {
        fb.fail("operator " + std::to_string(k) + " (" + tflite_op_name(op.kind) + ") omits a required input");
      }
    }
    out.operators.push_back(std::move(op));
  }
  if (out.operators.empty()) fb.fail("the graph has no operator");
  return out;
}

TfliteModel read_tflite(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path, "cannot open (missing? tools/fetch_models.sh downloads the BlazePose files)");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw DataError(path, "read error");
  return parse_tflite(bytes, path);
}

}  // namespace dkd
