#include "dkd/data/image_io.h"

#include <filesystem>
#include <vector>

#include "dkd/util/error.h"
#include "dkd/util/runtime.h"

namespace dkd {

cv::Mat try_decode_image(const std::string& path, std::string* problem, int flags) {
  cv::Mat img;
  try {
    img = cv::imread(path, flags);
  } catch (const cv::Exception& e) {
    // e.err is OpenCV's reason without its source file and line.
    if (problem)
      *problem = "cannot decode the image: OpenCV refused it (" + e.err + (e.func.empty() ? "" : " in " + e.func) + ")";
    return cv::Mat();
  } catch (const std::exception& e) {  // e.g. std::bad_alloc for a huge but allowed image
    if (problem) *problem = std::string("cannot decode the image: ") + e.what();
    return cv::Mat();
  }
  if (img.empty() && problem) *problem = "unreadable image (missing, truncated or not an image)";
  return img;
}

cv::Mat decode_image(const std::string& path, int flags) {
  std::string problem;
  cv::Mat img = try_decode_image(path, &problem, flags);
  if (img.empty()) throw DataError(path, problem);
  return img;
}

void write_image_atomic(const std::string& path, const cv::Mat& image) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext.empty()) throw Error("cannot write " + path + ": the name has no image extension (.png, .jpg, ...)");
  std::vector<uchar> bytes;
  bool ok = false;
  try {
    ok = cv::imencode(ext, image, bytes);
  } catch (const cv::Exception& e) {
    throw Error("cannot write " + path + ": OpenCV cannot encode it as " + ext + " (" + e.err + ")");
  }
  if (!ok) throw Error("cannot write " + path + ": OpenCV cannot encode it as " + ext);
  write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
}

}  // namespace dkd
