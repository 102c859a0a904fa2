#pragma once
// The input convention of every network in dkd: RGB in [0, 1] normalised with
// ImageNet's mean and standard deviation (torchvision's ResNets, SimpleBaseline).
// The data pipeline makes inputs this way (data/transforms.h); networks trained
// with another convention (the imported BlazePose takes RGB in [0, 1]) undo it.
#include <array>

namespace dkd {

inline constexpr std::array<float, 3> kImageNetMean{0.485f, 0.456f, 0.406f};  ///< RGB
inline constexpr std::array<float, 3> kImageNetStd{0.229f, 0.224f, 0.225f};   ///< RGB

}  // namespace dkd
