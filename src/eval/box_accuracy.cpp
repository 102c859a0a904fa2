#include "dkd/eval/box_accuracy.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

#include "dkd/data/clip_dataset.h"
#include "dkd/data/transforms.h"

namespace dkd {

std::array<double, 2> box_validation_offset(int t, double shift, int* shift_class) {
  // Centred, then half and full shifts in the four diagonal and axis directions.
  static constexpr std::array<std::array<double, 2>, 9> cycle{
      {{0, 0}, {0.5, 0}, {0, 0.5}, {-0.5, 0}, {0, -0.5}, {1, 1}, {-1, 1}, {1, -1}, {-1, -1}}};
  const std::size_t k = static_cast<std::size_t>(t) % cycle.size();
  const auto& o = cycle[k];
  if (shift_class) *shift_class = k == 0 ? 0 : k <= 4 ? 1 : 2;
  return {o[0] * shift, o[1] * shift};
}

BoxAccuracy measure_box_accuracy(BoxNet& box, const std::vector<VideoRecord>& videos, const Config& config,
                                 const c10::Device& device, int rank, int world_size) {
  BoxAccuracy out;
  box->eval();
  torch::NoGradGuard no_grad;
  const int in_w = config.data.input_size.at(0), in_h = config.data.input_size.at(1);
  const double aspect = static_cast<double>(in_w) / in_h;
  for (std::size_t v = 0; v < videos.size(); ++v) {
    if (static_cast<int>(v % static_cast<std::size_t>(world_size)) != rank) continue;
    const VideoRecord& video = videos[v];
    std::vector<torch::Tensor> crops;
    std::vector<CropTransform> transforms;
    for (int t = 0; t < video.num_frames(); ++t) {
      const Box& gt = video.boxes.at(static_cast<std::size_t>(t));
      const Region r = box_region(gt, config.data.box_scale, aspect);
      const auto o = box_validation_offset(t, config.train.box_shift);
      const CropTransform tr = CropTransform::make(
          {static_cast<float>(r.center.x + o[0] * r.width), static_cast<float>(r.center.y + o[1] * r.height)}, r.width,
          r.height, 0.0, false, in_w, in_h);
      crops.push_back(image_to_tensor(warp_image(read_frame(video.frame_paths.at(static_cast<std::size_t>(t))), tr)));
      transforms.push_back(tr);
    }
    if (crops.empty()) continue;
    const std::vector<Box> found =
        boxes_from_crop_codes(box->forward(torch::stack(crops).to(device)).codes, transforms);
    for (std::size_t t = 0; t < found.size(); ++t) {
      const Box& gt = video.boxes[t];
      const Box& b = found[t];
      const double side = std::max(1.0f, std::max(gt.width(), gt.height()));
      const double centre =
          100.0 * std::hypot(0.5 * (b.x1 + b.x2 - gt.x1 - gt.x2), 0.5 * (b.y1 + b.y2 - gt.y1 - gt.y2)) / side;
      const double size =
          std::abs(std::log(std::max(1e-3f, std::max(b.width(), b.height())) / static_cast<float>(side)));
      int shift_class = 0;
      box_validation_offset(static_cast<int>(t), 0.0, &shift_class);
      out.centre_error_by_shift[static_cast<std::size_t>(shift_class)] += centre;
      ++out.frames_by_shift[static_cast<std::size_t>(shift_class)];
      ++out.frames;
      out.centre_error_sum += centre;
      out.size_error_sum += size;
      out.hits += centre < 5.0 && size < std::log(1.1) ? 1.0 : 0.0;
    }
  }
  return out;
}

}  // namespace dkd
