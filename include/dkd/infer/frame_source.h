#pragma once
// Frame sources for streaming inference (an OpenPose-style "producer"): one
// interface over a video file, a folder of images and a camera, so dkd_infer
// and the tracker never care where frames come from.
//
//   auto source = dkd::open_frame_source("walk.avi");   // or "frames/", "camera:0"
//   cv::Mat frame;
//   while (source->next(frame)) { ... }                // BGR, CV_8UC3, constant size
//
// Opening checks the input at once: a missing path, a file OpenCV cannot
// decode, an empty folder or a camera that does not open is a DataError naming
// it. While reading, a single undecodable frame (a corrupt video packet, a
// broken image in a folder) is skipped with a warning and counted in
// skipped(); only when nothing at all decodes is it an error.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace dkd {

class FrameSource {
 public:
  virtual ~FrameSource() = default;

  /// The next frame (BGR, CV_8UC3, frame_size()). False at the end of the input.
  virtual bool next(cv::Mat& frame) = 0;

  /// Frames in the input when known in advance (files, folders; a video's
  /// container count may be approximate); -1 for a camera.
  virtual int64_t frame_count() const = 0;
  /// Frames per second of the input (video metadata; 25 for a folder and for
  /// a video or camera that does not say).
  virtual double fps() const = 0;
  /// Size of every frame returned by next().
  virtual cv::Size frame_size() const = 0;
  /// The input as given ("video walk.avi", "folder frames/ (120 images)", "camera 0").
  virtual std::string description() const = 0;
  /// Whether the input has a known end (a progress bar with ETA makes sense).
  virtual bool is_live() const { return false; }

  /// Frames returned so far.
  int64_t frames_read() const { return frames_read_; }
  /// Undecodable frames skipped so far (each logged as a warning).
  int64_t skipped() const { return skipped_; }

 protected:
  /// Returns the frame decoded at open (to check the input) as the first frame,
  /// counted as read; false once it has been returned.
  bool take_pending(cv::Mat& frame);

  int64_t frames_read_ = 0;
  int64_t skipped_ = 0;
  cv::Mat pending_;  ///< the first frame, decoded at open
  bool has_pending_ = false;
};

/// A video file read with cv::VideoCapture. DataError when the file is missing
/// or no frame of it decodes.
class VideoFileSource : public FrameSource {
 public:
  explicit VideoFileSource(const std::string& path);
  ~VideoFileSource() override;
  bool next(cv::Mat& frame) override;
  int64_t frame_count() const override { return frame_count_; }
  double fps() const override { return fps_; }
  cv::Size frame_size() const override { return size_; }
  std::string description() const override;

 private:
  bool read_decodable(cv::Mat& frame);
  struct Capture;
  std::unique_ptr<Capture> capture_;
  std::string path_;
  bool ended_ = false;
  int64_t frame_count_ = -1;
  double fps_ = 25.0;
  cv::Size size_;
};

/// The images of a folder (jpg, jpeg, png, bmp, tif, tiff, webp, ppm, pgm; case-insensitive)
/// in natural sort order ("2.jpg" before "10.jpg"). Images of another size than
/// the first are resized to it (one warning). DataError for a missing or empty
/// folder or when no image decodes.
class ImageFolderSource : public FrameSource {
 public:
  explicit ImageFolderSource(const std::string& folder, double fps = 25.0);
  bool next(cv::Mat& frame) override;
  int64_t frame_count() const override { return static_cast<int64_t>(files_.size()) - skipped_at_open_; }
  double fps() const override { return fps_; }
  cv::Size frame_size() const override { return size_; }
  std::string description() const override;
  const std::vector<std::string>& files() const { return files_; }

 private:
  std::string folder_;
  std::vector<std::string> files_;
  std::size_t next_index_ = 0;
  int64_t skipped_at_open_ = 0;
  double fps_;
  cv::Size size_;
  bool warned_resize_ = false;
};

/// A camera (cv::VideoCapture(index)). Error when it does not open or gives no frame.
class CameraSource : public FrameSource {
 public:
  explicit CameraSource(int index);
  ~CameraSource() override;
  bool next(cv::Mat& frame) override;
  int64_t frame_count() const override { return -1; }
  double fps() const override { return fps_; }
  cv::Size frame_size() const override { return size_; }
  std::string description() const override;
  bool is_live() const override { return true; }

 private:
  struct Capture;
  std::unique_ptr<Capture> capture_;
  int index_;
  double fps_ = 25.0;
  cv::Size size_;
};

/// Natural ("human") order of file names: digit runs compare as numbers.
bool natural_less(const std::string& a, const std::string& b);

/// "camera:N" -> CameraSource(N); an existing directory -> ImageFolderSource;
/// anything else -> VideoFileSource. UsageError for a malformed camera spec,
/// DataError for a missing path.
std::unique_ptr<FrameSource> open_frame_source(const std::string& spec);

}  // namespace dkd
