#pragma once
// Decoding image files without letting OpenCV's exceptions escape: a frame
// whose header claims 40000x40000 pixels makes cv::imread throw cv::Exception
// (over CV_IO_MAX_IMAGE_PIXELS), which would abort a tool with no file name.
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

namespace dkd {

/// Decodes `path` with cv::imread(flags). DataError naming the file when it is
/// missing, truncated, not an image or refused by OpenCV (too large, ...).
cv::Mat decode_image(const std::string& path, int flags = cv::IMREAD_COLOR);

/// The same without throwing: an empty Mat, and `problem` (when given) says why.
cv::Mat try_decode_image(const std::string& path, std::string* problem = nullptr, int flags = cv::IMREAD_COLOR);

/// Encodes `image` in the format of `path`'s extension (.png, .jpg, ...) and writes it
/// atomically (temporary file, then rename): an interrupted tool leaves the old file
/// or none, never half an image. Error naming the file when the extension is not an
/// image format, the folder is missing or the disk refuses.
void write_image_atomic(const std::string& path, const cv::Mat& image);

}  // namespace dkd
