#pragma once
// External predictions file: one JSON object
//
//   {"dataset": "penn",
//    "joints": ["head", "l_shoulder", ...],      // names in file order (or the count, 13)
//    "videos": {"0001": [[[x, y], ...J...], ...T...], ...},
//    "landmarks": {"0001": [[[x, y, visibility], ...L...], ...T...]},   // optional
//    "scores": {"0001": [[s, ...J...], ...T...]},   // optional: each joint's heatmap peak
//    "boxes": {"0001": [[x1, y1, x2, y2], ...T...]}}   // optional: the box each frame was cropped with
//
// Coordinates on disk are in the data set's own pixel convention (the
// annotation files' MATLAB 1-based coordinates); in memory they are 0-based
// like VideoRecord. The conversion happens here only: +1 on write, -1 on read.
// Video ids are VideoRecord::id ("0001" for Penn Action, "<action>/<video>" for
// JHMDB). `dkd_eval --save-predictions` and `dkd_infer` write this format.
#include <array>
#include <map>
#include <string>
#include <vector>

#include "dkd/data/video.h"

namespace dkd {

struct Predictions {
  std::string dataset = "penn";
  int num_joints = 0;
  std::map<std::string, std::vector<Point2>> videos;  ///< id -> T*J points, 0-based, frame-major
  /// Optional raw landmarks of a landmark network (dkd_infer --teacher): id -> T*L
  /// (x, y, visibility), 0-based like `videos`; written under "landmarks" with
  /// the same +1 on x and y, L = num_landmarks per frame. Not read back.
  std::map<std::string, std::vector<std::array<float, 3>>> landmarks;
  int num_landmarks = 0;
  /// Optional: each joint's heatmap peak (id -> T*J), written under "scores".
  /// Not read back.
  std::map<std::string, std::vector<float>> scores;
  /// Optional: the box each frame was cropped with (id -> T; dkd_eval with
  /// eval.boxes = tracked, dkd_infer), written under "boxes" with the same +1 on
  /// every coordinate. Not read back.
  std::map<std::string, std::vector<Box>> boxes;
};

/// The JSON text of `preds` (one video per line). Throws Error on non-finite
/// coordinates or a video whose point count is not a multiple of num_joints.
std::string predictions_to_string(const Predictions& preds);

/// Writes predictions_to_string() to `path` atomically (Error naming the file).
void write_predictions(const std::string& path, const Predictions& preds);

/// Parses the format above. `origin` names the source in errors. Throws
/// DataError(origin, problem) on malformed JSON, a missing/unknown "dataset",
/// a "joints" field that does not match the data set's skeleton, or a
/// coordinate that is not a number (naming the video, frame and joint).
Predictions predictions_from_string(const std::string& text, const std::string& origin);

/// Reads and parses `path` (DataError naming the file).
Predictions read_predictions(const std::string& path);

/// Checks `preds` against the records to be evaluated: same data set, every
/// record's video present, the same frame count. Throws DataError(origin, ...)
/// naming the first bad video. Videos without a record are allowed (ignored);
/// returns their number.
int validate_predictions(const Predictions& preds, const std::vector<VideoRecord>& records, const std::string& origin);

/// The ground truth of `records` as predictions (tests, sanity checks).
Predictions predictions_from_records(const std::vector<VideoRecord>& records);

}  // namespace dkd
