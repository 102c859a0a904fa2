#pragma once
// A bounded reader for TensorFlow Lite flatbuffer files (.tflite): the tables a
// float network of convolutions needs -- model, first subgraph, tensors, buffers,
// operators, operator codes and the options of the operators below -- read
// straight from the bytes (no flatc, no TensorFlow). Every offset, length and
// index is checked against the file before it is followed, so a truncated or
// corrupt file is a DataError naming the file, never a crash.
//
// Operators read: ADD, CONV_2D, DEPTHWISE_CONV_2D, DEQUANTIZE, LOGISTIC,
// MAX_POOL_2D, PAD, RESHAPE, RESIZE_BILINEAR (the whole op set of MediaPipe's
// BlazePose landmark networks); any other operator is an error naming it.
// Field ids follow tensorflow/lite/schema/schema.fbs.
//
// Turning the graph into a LibTorch module is models/tflite_network.h.
#include <cstdint>
#include <string>
#include <vector>

namespace dkd {

enum class TfliteOpKind {
  add,
  conv_2d,
  depthwise_conv_2d,
  dequantize,
  logistic,
  max_pool_2d,
  pad,
  reshape,
  resize_bilinear
};
enum class TfliteActivation { none, relu, relu6 };
/// TensorType codes of the schema that the reader understands.
enum class TfliteType : int8_t { float32 = 0, float16 = 1, int32 = 2 };

/// The schema's name of an operator kind ("CONV_2D", ...).
const char* tflite_op_name(TfliteOpKind kind);

struct TfliteTensor {
  std::string name;
  std::vector<int32_t> shape;  ///< TFLite layout (NHWC for images)
  TfliteType type = TfliteType::float32;
  uint32_t buffer = 0;  ///< index into TfliteModel::buffers; 0 = no data (an activation)
  int64_t numel() const;
};

struct TfliteOperator {
  TfliteOpKind kind = TfliteOpKind::add;
  std::vector<int32_t> inputs;   ///< tensor indices; -1 = an omitted optional input
  std::vector<int32_t> outputs;  ///< tensor indices
  bool same_padding = false;     ///< SAME (TensorFlow's asymmetric padding) or VALID
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int filter_h = 0, filter_w = 0;  ///< MAX_POOL_2D
  int depth_multiplier = 1;        ///< DEPTHWISE_CONV_2D
  TfliteActivation activation = TfliteActivation::none;
  bool align_corners = false;       ///< RESIZE_BILINEAR
  bool half_pixel_centers = false;  ///< RESIZE_BILINEAR
};

struct TfliteModel {
  std::string path;  ///< where it was read from (errors name it)
  uint32_t version = 0;
  std::vector<TfliteTensor> tensors;
  std::vector<TfliteOperator> operators;  ///< in execution order
  std::vector<int32_t> inputs;
  std::vector<int32_t> outputs;
  std::vector<std::string> buffers;  ///< raw little-endian bytes; buffers[0] is empty

  /// Whether tensor `index` holds constant data.
  bool is_constant(int32_t index) const;
  /// Constant float data of a FLOAT32 or FLOAT16 tensor (half converted exactly).
  std::vector<float> floats(int32_t index) const;
  /// Constant data of an INT32 tensor.
  std::vector<int32_t> ints(int32_t index) const;
  /// The tensor at `index`; DataError naming the file when out of range.
  const TfliteTensor& tensor(int32_t index) const;
};

/// Reads and checks `path` (DataError naming the file on any problem: missing,
/// truncated, an offset or index out of range, an unknown operator, a constant
/// whose size does not match its shape).
TfliteModel read_tflite(const std::string& path);
/// The same on bytes already in memory; `origin` names them in errors.
TfliteModel parse_tflite(const std::string& bytes, const std::string& origin);

/// IEEE 754 half (binary16) bits -> float, exact (subnormals, inf and NaN included).
float half_to_float(uint16_t bits);

}  // namespace dkd
