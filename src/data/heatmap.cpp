#include "dkd/data/heatmap.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "dkd/util/error.h"

namespace dkd {

torch::Tensor render_heatmaps(const std::vector<Point2>& joints, const std::vector<uint8_t>& visible, int width,
                              int height, double sigma, std::vector<float>* weights) {
  const int64_t J = static_cast<int64_t>(joints.size());
  auto hm = torch::zeros({J, height, width}, torch::kFloat);
  if (weights) weights->assign(static_cast<std::size_t>(J), 0.f);
  auto acc = hm.accessor<float, 3>();
  const double inv = 1.0 / (2.0 * sigma * sigma);
  const int radius = static_cast<int>(std::ceil(3.0 * sigma));
  for (int64_t j = 0; j < J; ++j) {
    const Point2& p = joints[static_cast<std::size_t>(j)];
    const bool vis = visible.empty() || visible[static_cast<std::size_t>(j)] != 0;
    const bool inside = is_finite(p) && p.x >= -0.5f && p.y >= -0.5f && p.x < width - 0.5f && p.y < height - 0.5f;
    if (!vis || !inside) continue;
    if (weights) (*weights)[static_cast<std::size_t>(j)] = 1.f;
    const int cx = static_cast<int>(std::lround(p.x)), cy = static_cast<int>(std::lround(p.y));
    for (int y = std::max(0, cy - radius); y <= std::min(height - 1, cy + radius); ++y)
      for (int x = std::max(0, cx - radius); x <= std::min(width - 1, cx + radius); ++x) {
        const double dx = x - p.x, dy = y - p.y;
        acc[j][y][x] = static_cast<float>(std::exp(-(dx * dx + dy * dy) * inv));
      }
  }
  return hm;
}

namespace {

// The decoders run on the host, one heatmap at a time, in plain loops: a
// tracker frame decodes J small maps, and as tensor operators (argmax, gathers,
// the blur, the Taylor step) that was ~60 operator calls per frame, more time
// than the whole DKD step's arithmetic. The arithmetic is the same as the
// tensor formulation (tests/test_heatmap.cpp keeps that as the reference).

/// The first maximum of m[0..n) (a NaN counts as the maximum, as torch's max does).
int64_t first_argmax(const float* m, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i) {
    if (std::isnan(m[best])) break;
    if (m[i] > m[best] || std::isnan(m[i])) best = i;
  }
  return best;
}

/// Argmax with the quarter-pixel shift towards the larger neighbour (none at the border).
Point2 argmax_point(const float* m, int64_t h, int64_t w, int64_t idx) {
  const int64_t x = idx % w, y = idx / w;
  const auto sign = [](float d) { return d > 0.f ? 0.25f : (d < 0.f ? -0.25f : 0.f); };
  Point2 p{static_cast<float>(x), static_cast<float>(y)};
  if (x > 0 && x < w - 1) p.x += sign(m[y * w + x + 1] - m[y * w + x - 1]);
  if (y > 0 && y < h - 1) p.y += sign(m[(y + 1) * w + x] - m[(y - 1) * w + x]);
  return p;
}

/// DARK's modulation (Zhang et al. 2020): the map blurred by a Gaussian of
/// `sigma` (radius ceil(3 sigma), replicated borders), rescaled to the original
/// maximum; separable, into `out` (h * w). `pad` is scratch of (h + 2r) * w
/// floats, `row` of w + 2r. The loops run along rows, so the compiler vectorises them.
void modulate(const float* m, int64_t h, int64_t w, const std::vector<float>& taps, float* out, float* pad,
              std::vector<float>& row) {
  const int64_t r = static_cast<int64_t>(taps.size() / 2), pw = w + 2 * r;
  // Rows blurred along x into the padded buffer's rows r .. r + h - 1 (columns 0 .. w - 1).
  float old_max = -std::numeric_limits<float>::infinity();
  for (int64_t y = 0; y < h; ++y) {
    const float* src = m + y * w;
    for (int64_t x = 0; x < pw; ++x) row[static_cast<std::size_t>(x)] = src[std::clamp(x - r, int64_t{0}, w - 1)];
    float* dst = pad + (y + r) * w;
    std::fill(dst, dst + w, 0.f);
    for (int64_t k = 0; k <= 2 * r; ++k) {
      const float t = taps[static_cast<std::size_t>(k)];
      const float* in = row.data() + k;
      for (int64_t x = 0; x < w; ++x) dst[x] += t * in[x];
    }
    for (int64_t x = 0; x < w; ++x) old_max = std::max(old_max, src[x]);
  }
  // Replicated rows above and below, then the blur along y.
  for (int64_t y = 0; y < r; ++y) {
    std::copy(pad + r * w, pad + (r + 1) * w, pad + y * w);
    std::copy(pad + (r + h - 1) * w, pad + (r + h) * w, pad + (r + h + y) * w);
  }
  float new_max = -std::numeric_limits<float>::infinity();
  for (int64_t y = 0; y < h; ++y) {
    float* dst = out + y * w;
    std::fill(dst, dst + w, 0.f);
    for (int64_t k = 0; k <= 2 * r; ++k) {
      const float t = taps[static_cast<std::size_t>(k)];
      const float* in = pad + (y + k) * w;
      for (int64_t x = 0; x < w; ++x) dst[x] += t * in[x];
    }
    for (int64_t x = 0; x < w; ++x) new_max = std::max(new_max, dst[x]);
  }
  const float scale = new_max > 0.f ? old_max / std::max(new_max, 1e-12f) : 1.f;
  for (int64_t i = 0; i < h * w; ++i) out[i] *= scale;
}

/// The normalised 1-D Gaussian of DARK's blur, radius max(1, ceil(3 sigma)).
std::vector<float> gaussian_taps(double sigma) {
  const int64_t r = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(3.0 * sigma)));
  std::vector<float> taps(static_cast<std::size_t>(2 * r + 1));
  float sum = 0.f;
  for (int64_t k = -r; k <= r; ++k) {
    const float v = std::exp(static_cast<float>(k * k) * static_cast<float>(-1.0 / (2.0 * sigma * sigma)));
    taps[static_cast<std::size_t>(k + r)] = v;
    sum += v;
  }
  for (auto& v : taps) v /= sum;
  return taps;
}

/// DARK's second-order Taylor step on the log of the modulated map `logm` at
/// the integer peak (px, py); false (keep the argmax answer) unless the peak is
/// a maximum two pixels from the border with a step within one pixel.
bool dark_step(const float* modulated, int64_t h, int64_t w, int64_t px, int64_t py, Point2& out) {
  const auto at = [&](int64_t dx, int64_t dy) {
    const int64_t x = std::clamp(px + dx, int64_t{0}, w - 1), y = std::clamp(py + dy, int64_t{0}, h - 1);
    return static_cast<double>(std::log(std::max(modulated[y * w + x], 1e-10f)));
  };
  if (!(px > 1 && px < w - 2 && py > 1 && py < h - 2)) return false;
  const double c = at(0, 0);
  const double gx = 0.5 * (at(1, 0) - at(-1, 0)), gy = 0.5 * (at(0, 1) - at(0, -1));
  const double hxx = 0.25 * (at(2, 0) - 2 * c + at(-2, 0)), hyy = 0.25 * (at(0, 2) - 2 * c + at(0, -2));
  const double hxy = 0.25 * (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1));
  const double det = hxx * hyy - hxy * hxy;
  if (!(det > 1e-12) || !(hxx < 0)) return false;
  const double ox = -(hyy * gx - hxy * gy) / det, oy = -(hxx * gy - hxy * gx) / det;
  if (!(std::abs(ox) <= 1.0) || !(std::abs(oy) <= 1.0)) return false;
  out = {static_cast<float>(static_cast<double>(px) + ox), static_cast<float>(static_cast<double>(py) + oy)};
  return true;
}

}  // namespace

HeatmapPeaks decode_heatmaps(const torch::Tensor& heatmaps, HeatmapDecoder decoder, double sigma) {
  if (heatmaps.dim() < 3) throw Error("decode_heatmaps: expected [..., J, h, w]");
  const int64_t h = heatmaps.size(-2), w = heatmaps.size(-1);
  const auto lead = heatmaps.sizes().slice(0, heatmaps.dim() - 2).vec();
  const auto host = heatmaps.detach().to(torch::kCPU, torch::kFloat).contiguous();
  const int64_t maps = h * w > 0 ? host.numel() / (h * w) : 0;
  auto coords = torch::empty({maps, 2}, torch::kFloat);
  auto maxvals = torch::empty({maps}, torch::kFloat);
  float* c = coords.data_ptr<float>();
  float* v = maxvals.data_ptr<float>();
  const float* m = host.data_ptr<float>();
  std::vector<float> taps, modulated, scratch, row;
  if (decoder == HeatmapDecoder::dark) {
    taps = gaussian_taps(sigma);
    modulated.resize(static_cast<std::size_t>(h * w));
    scratch.resize(static_cast<std::size_t>((h + taps.size() - 1) * w));
    row.resize(static_cast<std::size_t>(w + taps.size() - 1));
  }
  for (int64_t i = 0; i < maps && h * w > 0; ++i) {
    const float* map = m + i * h * w;
    const int64_t idx = first_argmax(map, h * w);
    Point2 p = argmax_point(map, h, w, idx);
    const int64_t px = idx % w, py = idx / w;
    if (decoder == HeatmapDecoder::dark && px > 1 && px < w - 2 && py > 1 && py < h - 2) {
      modulate(map, h, w, taps, modulated.data(), scratch.data(), row);
      Point2 fine;
      if (dark_step(modulated.data(), h, w, px, py, fine)) p = fine;
    }
    c[2 * i] = p.x;
    c[2 * i + 1] = p.y;
    v[i] = map[idx];
  }
  auto lead_2 = lead;
  lead_2.push_back(2);
  HeatmapPeaks out;
  out.coords = coords.view(lead_2).to(heatmaps.device());
  out.maxvals = maxvals.view(lead).to(heatmaps.device());
  return out;
}

Point2 heatmap_to_image(Point2 p, const CropTransform& t) { return t.apply_inverse(p); }

torch::Tensor heatmap_coords_to_image(const torch::Tensor& coords, const std::vector<CropTransform>& transforms) {
  if (coords.dim() != 3 || coords.size(2) != 2 || coords.size(0) != static_cast<int64_t>(transforms.size()))
    throw Error("heatmap_coords_to_image: expected coords [T, J, 2] with one transform per frame");
  auto c = coords.detach().to(torch::kCPU, torch::kFloat).contiguous();
  auto out = torch::empty_like(c);
  auto a = c.accessor<float, 3>();
  auto o = out.accessor<float, 3>();
  for (int64_t t = 0; t < c.size(0); ++t)
    for (int64_t j = 0; j < c.size(1); ++j) {
      Point2 p = transforms[static_cast<std::size_t>(t)].apply_inverse({a[t][j][0], a[t][j][1]});
      o[t][j][0] = p.x;
      o[t][j][1] = p.y;
    }
  return out;
}

}  // namespace dkd
