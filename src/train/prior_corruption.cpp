#include "dkd/train/prior_corruption.h"

#include <vector>

#include "dkd/data/skeleton.h"

namespace dkd {

bool any_prior_corruption(const PriorCorruptionConfig& c) { return c.swap > 0 || c.jump > 0 || c.drop > 0; }

torch::Tensor corrupt_heatmaps(const torch::Tensor& heatmaps, const PriorCorruptionConfig& c, const Skeleton& skeleton,
                               std::mt19937_64& rng) {
  TORCH_CHECK(heatmaps.dim() == 4, "corrupt_heatmaps: heatmaps must be [B, J, h, w], got ", heatmaps.sizes());
  const int64_t B = heatmaps.size(0), J = heatmaps.size(1);
  auto source = torch::arange(J, torch::kLong).repeat({B, 1});
  auto keep = torch::ones({B, J}, torch::kFloat);
  auto src = source.accessor<int64_t, 2>();
  auto kp = keep.accessor<float, 2>();
  std::bernoulli_distribution swap(c.swap), jump(c.jump), drop(c.drop);
  std::uniform_int_distribution<int64_t> other(0, J > 1 ? J - 2 : 0);
  for (int64_t b = 0; b < B; ++b) {
    if (c.swap > 0) {
      for (const auto& [l, r] : skeleton.flip_pairs) {
        if (l >= J || r >= J || !swap(rng)) continue;
        std::swap(src[b][l], src[b][r]);
      }
    }
    if (c.jump > 0 && J > 1) {
      const std::vector<int64_t> before(&src[b][0], &src[b][0] + J);
      for (int64_t j = 0; j < J; ++j) {
        if (!jump(rng)) continue;
        int64_t k = other(rng);
        if (k >= j) ++k;  // any joint but j
        src[b][j] = before[static_cast<std::size_t>(k)];
      }
    }
    if (c.drop > 0) {
      for (int64_t j = 0; j < J; ++j)
        if (drop(rng)) kp[b][j] = 0.f;
    }
  }
  const auto index = source.to(heatmaps.device()).view({B, J, 1, 1}).expand_as(heatmaps);
  const auto mask = keep.to(heatmaps.options()).view({B, J, 1, 1});
  return heatmaps.gather(1, index) * mask;
}

}  // namespace dkd
