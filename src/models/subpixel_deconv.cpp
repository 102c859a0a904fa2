#include "dkd/models/subpixel_deconv.h"

#include <vector>

namespace dkd {

torch::Tensor subpixel_weight(const torch::Tensor& w, int64_t padding) {
  TORCH_CHECK(w.dim() == 4 && w.size(2) == w.size(3), "subpixel_weight: weight must be [in, out, K, K], got ",
              w.sizes());
  const int64_t K = w.size(2);
  // Per phase a and tap u of the 2x2 window (input offset d = u - 1 + a): the
  // transposed kernel's tap k = a + p - 2d, or -1 where it falls outside [0, K).
  auto tap = [&](int64_t a, int64_t u) {
    const int64_t k = a + padding - 2 * (u - 1 + a);
    return (k >= 0 && k < K) ? k : int64_t{-1};
  };
  // A zero tap appended at index K, so every (phase, u) gathers from [0, K].
  const auto padded = torch::cat({w, torch::zeros_like(w.narrow(2, 0, 1))}, 2);
  const auto padded2 = torch::cat({padded, torch::zeros_like(padded.narrow(3, 0, 1))}, 3);
  std::vector<torch::Tensor> phases;
  for (int64_t a = 0; a < 2; ++a) {
    for (int64_t b = 0; b < 2; ++b) {
      std::vector<int64_t> rows, cols;
      for (int64_t u = 0; u < 2; ++u) {
        const int64_t k = tap(a, u);
        rows.push_back(k < 0 ? K : k);
        const int64_t l = tap(b, u);
        cols.push_back(l < 0 ? K : l);
      }
      const auto r = torch::tensor(rows, torch::TensorOptions().dtype(torch::kLong).device(w.device()));
      const auto c = torch::tensor(cols, torch::TensorOptions().dtype(torch::kLong).device(w.device()));
      phases.push_back(padded2.index_select(2, r).index_select(3, c));  // [in, out, 2, 2]
    }
  }
  // [4, in, out, 2, 2] -> [out, 4, in, 2, 2] -> [4 out, in, 2, 2] (channel 4 c + phase).
  return torch::stack(phases).permute({2, 0, 1, 3, 4}).reshape({4 * w.size(1), w.size(0), 2, 2});
}

torch::Tensor subpixel_deconv(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                              int64_t padding, const torch::Tensor& subpixel) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == weight.size(0), "subpixel_deconv: input must be [N, ", weight.size(0),
              ", H, W], got ", x.sizes());
  const auto k = subpixel.defined() ? subpixel : subpixel_weight(weight, padding);
  const int64_t out = weight.size(1), h = x.size(2), w = x.size(3);
  const auto b4 = bias.defined() ? bias.repeat_interleave(4) : torch::Tensor();
  // y[r, s] sees x[r-1..r, s-1..s]; phase (a, b) of output pixel (m, n) is y[m + a, n + b].
  return subpixel_interleave(torch::conv2d(x, k, b4, 1, 1), out, h, w);
}

namespace {

/// For each output element (c, 2i + a, 2j + b) of the interleave, its flat
/// index in one sample of y4 [4 out, h + 1, w + 1]: y4[4c + 2a + b, i + a, j + b].
torch::Tensor interleave_index(int64_t out, int64_t h, int64_t w, const c10::Device& device) {
  struct Entry {
    int64_t out, h, w;
    c10::Device device;
    torch::Tensor index;
  };
  thread_local std::vector<Entry> cache;  // a few shapes per process
  for (const auto& e : cache)
    if (e.out == out && e.h == h && e.w == w && e.device == device) return e.index;
  auto index = torch::empty({out * 2 * h * 2 * w}, torch::kLong);
  int64_t* p = index.data_ptr<int64_t>();
  for (int64_t c = 0; c < out; ++c)
    for (int64_t y = 0; y < 2 * h; ++y)
      for (int64_t x = 0; x < 2 * w; ++x) {
        const int64_t a = y % 2, b = x % 2, i = y / 2, j = x / 2;
        *p++ = ((4 * c + 2 * a + b) * (h + 1) + (i + a)) * (w + 1) + (j + b);
      }
  if (cache.size() >= 16) cache.erase(cache.begin());
  cache.push_back({out, h, w, device, index.to(device)});
  return cache.back().index;
}

}  // namespace

torch::Tensor subpixel_interleave(const torch::Tensor& y4, int64_t out, int64_t h, int64_t w) {
  const int64_t n = y4.size(0);
  if (!(torch::GradMode::is_enabled() && y4.requires_grad())) {
    // Inference: one gather instead of eight slices and three stacks (overhead-bound at small sizes).
    return y4.reshape({n, -1}).index_select(1, interleave_index(out, h, w, y4.device())).view({n, out, 2 * h, 2 * w});
  }
  const auto y = y4.view({n, out, 2, 2, h + 1, w + 1});
  std::vector<torch::Tensor> rows;
  for (int64_t a = 0; a < 2; ++a) {
    std::vector<torch::Tensor> cols;
    for (int64_t b = 0; b < 2; ++b) cols.push_back(y.select(2, a).select(2, b).narrow(2, a, h).narrow(3, b, w));
    rows.push_back(torch::stack(cols, -1));  // [n, out, h, w, 2(b)]
  }
  // [n, out, h, 2(a), w, 2(b)] -> [n, out, 2h, 2w]
  return torch::stack(rows, 3).reshape({n, out, 2 * h, 2 * w});
}

}  // namespace dkd
