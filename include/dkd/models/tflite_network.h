#pragma once
// A TFLite float graph (models/tflite_reader.h) as an ordinary LibTorch module:
// every CONV_2D and DEPTHWISE_CONV_2D becomes a registered torch::nn::Conv2d
// (weights OHWI / 1HWC -> OIHW, float16 dequantized to float), so the network
// can be frozen, fine-tuned, moved to a device, saved in a checkpoint and
// counted by the complexity counter like the project's own networks. forward()
// runs the operators in the file's order on NCHW tensors:
//   - TensorFlow SAME padding exactly: total max((ceil(in/s)-1)*s + (k-1)*d + 1 - in, 0),
//     the smaller half before and the larger after; asymmetric cases get an
//     explicit pad, symmetric ones the convolution's own padding;
//   - MAX_POOL_2D SAME: padded cells never win (padding with -inf);
//   - RESIZE_BILINEAR with half-pixel centres = LibTorch's align_corners=false
//     (align_corners=true maps to itself; the legacy mode without either is refused);
//   - RESHAPE and the outputs keep TFLite's NHWC element order: a 4-d tensor is
//     turned NHWC before a reshape and back after, so flattened outputs match
//     the file's meaning element for element;
//   - PAD on any axis (channels included), ADD with broadcasting, LOGISTIC, fused
//     ReLU / ReLU6.
// Image outputs come back NCHW; other outputs in the file's shape (batch first).
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "dkd/config/kinds.h"
#include "dkd/models/tflite_reader.h"

namespace dkd {

class TfliteNetworkImpl : public torch::nn::Module {
 public:
  /// Builds the module from a parsed file. DataError naming the file when the
  /// graph is not one this importer runs (a weight that is not constant, an
  /// unsupported resize mode, shapes that do not fit their operator).
  explicit TfliteNetworkImpl(const TfliteModel& model);

  /// Runs the graph on `input` [N, C, H, W] (the file's NHWC input transposed;
  /// H, W and C as in the file). Returns the graph's outputs in the file's order.
  std::vector<torch::Tensor> forward(const torch::Tensor& input);

  /// Output names and shapes as the file gives them (TFLite layout).
  const std::vector<std::string>& output_names() const { return output_names_; }
  const std::vector<std::vector<int64_t>>& output_shapes() const { return output_shapes_; }
  /// The input's {H, W, C}.
  const std::vector<int64_t>& input_hwc() const { return input_hwc_; }
  int64_t num_operators() const { return static_cast<int64_t>(steps_.size()); }

  /// Inference precision (infer.precision). bfloat16: on a CPU with oneDNN
  /// bfloat16 convolutions (packed_bfloat16_supported(); Error otherwise), with
  /// gradients off, the graph runs on bfloat16 activations and bfloat16 copies
  /// of the weights and constants (made once, remade when the float weights
  /// change), and the outputs come back float. The module's parameters stay
  /// float, so training and float inference are unchanged.
  void set_precision(Precision precision);
  Precision precision() const { return precision_; }

 private:
  struct Step {
    TfliteOpKind kind = TfliteOpKind::add;
    std::vector<int32_t> inputs;
    int32_t output = 0;
    TfliteActivation activation = TfliteActivation::none;
    torch::nn::Conv2d conv{nullptr};
    std::vector<int64_t> pad;    ///< F::pad order (last dim first); empty = none
    std::vector<int64_t> pool;   ///< kernel h, w, stride h, w
    std::vector<int64_t> shape;  ///< RESHAPE: output shape (TFLite layout)
    std::vector<int64_t> size;   ///< RESIZE_BILINEAR: output h, w
    bool align_corners = false;
    std::vector<int32_t> last_use;  ///< computed tensors read for the last time here (freed after it)
  };

  /// The bfloat16 copies of the weights and constants, and what they were made from.
  void refresh_bfloat16();

  std::string path_;
  Precision precision_ = Precision::float32;
  std::vector<torch::Tensor> bf16_weights_, bf16_biases_;       ///< by step (undefined for non-convolutions)
  std::vector<torch::Tensor> bf16_constants_;                   ///< by tensor index
  std::vector<std::pair<const void*, uint32_t>> bf16_sources_;  ///< each weight's data and version when copied
  std::vector<Step> steps_;
  std::vector<int32_t> output_ids_;
  int32_t input_id_ = 0;
  std::vector<int64_t> input_hwc_;
  std::vector<std::string> output_names_;
  std::vector<std::vector<int64_t>> output_shapes_;
  /// Constants the operators read (registered buffers, so .to(device) moves them),
  /// by tensor index; undefined where the tensor is computed.
  std::vector<torch::Tensor> constants_;
  /// Whether tensor i is held NCHW (a 4-d image tensor) rather than in TFLite's layout.
  std::vector<bool> nchw_;
};
TORCH_MODULE(TfliteNetwork);

/// read_tflite + TfliteNetwork.
TfliteNetwork load_tflite_network(const std::string& path);

}  // namespace dkd
