#pragma once
// A stride-2 transposed convolution as a sub-pixel convolution.
//
// Output pixel 2m + a (phase a in {0, 1}, per axis) of a ConvTranspose2d with
// kernel K, stride 2, padding p gets input pixel m + d through kernel tap
// k = a + p - 2d, for the two offsets d in {a - 1, a} (taps outside [0, K) are
// zero). So the whole layer is ONE ordinary 2x2 convolution (padding 1) with
// 4x the output channels, one group per phase (a, b), whose outputs are then
// interleaved (a pixel shuffle, each phase shifted by its offset). It computes
// the same multiply-adds as the transposed form, but runs as a convolution
// (oneDNN / cuDNN) instead of a BLAS product plus col2im. Exact for the
// SimpleBaseline kernels 2, 3, 4 with the paddings of deconv_padding(); the
// parameters keep the torchvision/SimpleBaseline layout [in, out, K, K], and the
// rearranged weight is differentiable, so training can use it too.
#include <cstdint>

#include <torch/torch.h>

namespace dkd {

/// ConvTranspose2d weight [in, out, K, K] (stride 2, padding `padding`) ->
/// the equivalent 2x2 convolution weight [4 * out, in, 2, 2], output channel
/// 4 c + 2 a + b holding phase (a, b) of channel c.
torch::Tensor subpixel_weight(const torch::Tensor& deconv_weight, int64_t padding);

/// y = ConvTranspose2d(x; weight, bias, stride 2, padding, the output padding
/// that gives exactly 2H x 2W) computed as the sub-pixel convolution.
/// `weight` in the transposed layout [in, out, K, K]; `bias` [out] or undefined;
/// `subpixel` the cached subpixel_weight(weight, padding) or undefined.
torch::Tensor subpixel_deconv(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                              int64_t padding, const torch::Tensor& subpixel = {});

/// The second half of subpixel_deconv: the 2x2 convolution's output y
/// [N, 4 * out, H + 1, W + 1] (input H x W, padding 1) -> the interleaved phases
/// [N, out, 2H, 2W].
torch::Tensor subpixel_interleave(const torch::Tensor& y, int64_t out, int64_t h, int64_t w);

}  // namespace dkd
