#include "dkd/eval/predictions.h"

#include <cmath>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "dkd/data/skeleton.h"
#include "dkd/util/error.h"
#include "dkd/util/runtime.h"

namespace dkd {

using nlohmann::json;

namespace {

std::string type_name(const json& v) { return v.type_name(); }

std::string where(const std::string& video, std::size_t t, std::size_t j) {
  return "video '" + video + "' frame " + std::to_string(t + 1) + " joint " + std::to_string(j);
}

/// One per-video section, `"key": {"id": frames, ...}`, one video per line.
/// `frames_of(id, value)` gives a video's frames as JSON (and throws on bad values).
template <class Map, class FramesOf>
void write_video_section(std::ostream& os, const char* key, const Map& videos, const FramesOf& frames_of) {
  os << ",\n \"" << key << "\": {";
  bool first = true;
  for (const auto& [id, value] : videos) {
    os << (first ? "\n  " : ",\n  ") << json(id).dump() << ": " << frames_of(id, value).dump();
    first = false;
  }
  os << (first ? "}" : "\n }");
}

}  // namespace

std::string predictions_to_string(const Predictions& preds) {
  const int J = preds.num_joints;
  if (J <= 0) throw Error("predictions: num_joints must be positive, got " + std::to_string(J));
  const Skeleton& sk = skeleton_for(preds.dataset);
  if (sk.num_joints() != J)
    throw Error("predictions: data set '" + preds.dataset + "' has " + std::to_string(sk.num_joints()) +
                " joints, predictions have " + std::to_string(J));
  const json joints = sk.joint_names;
  std::ostringstream os;
  os << "{\"dataset\": " << json(preds.dataset).dump() << ",\n \"joints\": " << joints.dump()
     << ",\n \"coordinates\": \"1-based pixels\"";
  write_video_section(os, "videos", preds.videos, [&](const std::string& id, const std::vector<Point2>& pts) {
    if (pts.size() % J != 0)
      throw Error("predictions: video '" + id + "' has " + std::to_string(pts.size()) + " points, not a multiple of " +
                  std::to_string(J) + " joints");
    json frames = json::array();
    for (std::size_t t = 0; t < pts.size() / J; ++t) {
      json frame = json::array();
      for (int j = 0; j < J; ++j) {
        const Point2& p = pts[t * J + j];
        if (!is_finite(p)) throw Error("predictions: " + where(id, t, j) + " is not finite");
        // double(float) + 1 is exact, so a read (-1, back to float) restores p exactly.
        frame.push_back(json::array({static_cast<double>(p.x) + 1.0, static_cast<double>(p.y) + 1.0}));
      }
      frames.push_back(std::move(frame));
    }
    return frames;
  });
  if (!preds.landmarks.empty()) {
    const int L = preds.num_landmarks;
    if (L <= 0) throw Error("predictions: num_landmarks must be positive with landmarks");
    write_video_section(
        os, "landmarks", preds.landmarks, [&](const std::string& id, const std::vector<std::array<float, 3>>& points) {
          if (points.size() % L != 0) throw Error("predictions: landmarks of video '" + id + "' are not whole frames");
          json frames = json::array();
          for (std::size_t t = 0; t < points.size() / L; ++t) {
            json frame = json::array();
            for (int l = 0; l < L; ++l) {
              const auto& p = points[t * L + l];
              if (!std::isfinite(p[0]) || !std::isfinite(p[1]) || !std::isfinite(p[2]))
                throw Error("predictions: landmark " + std::to_string(l) + " of frame " + std::to_string(t) +
                            " of video '" + id + "' is not finite");
              frame.push_back(json::array({static_cast<double>(p[0]) + 1.0, static_cast<double>(p[1]) + 1.0, p[2]}));
            }
            frames.push_back(std::move(frame));
          }
          return frames;
        });
  }
  if (!preds.scores.empty())
    write_video_section(os, "scores", preds.scores, [&](const std::string& id, const std::vector<float>& scores) {
      if (scores.size() % J != 0) throw Error("predictions: scores of video '" + id + "' are not whole frames");
      json frames = json::array();
      for (std::size_t t = 0; t < scores.size() / J; ++t) {
        json frame = json::array();
        for (int j = 0; j < J; ++j) {
          const float v = scores[t * J + j];
          if (!std::isfinite(v)) throw Error("predictions: score of " + where(id, t, j) + " is not finite");
          frame.push_back(v);
        }
        frames.push_back(std::move(frame));
      }
      return frames;
    });
  if (!preds.boxes.empty())
    write_video_section(os, "boxes", preds.boxes, [](const std::string& id, const std::vector<Box>& boxes) {
      json frames = json::array();
      for (std::size_t t = 0; t < boxes.size(); ++t) {
        const Box& b = boxes[t];
        if (!std::isfinite(b.x1) || !std::isfinite(b.y1) || !std::isfinite(b.x2) || !std::isfinite(b.y2))
          throw Error("predictions: box of frame " + std::to_string(t + 1) + " of video '" + id + "' is not finite");
        frames.push_back(json::array({static_cast<double>(b.x1) + 1.0, static_cast<double>(b.y1) + 1.0,
                                      static_cast<double>(b.x2) + 1.0, static_cast<double>(b.y2) + 1.0}));
      }
      return frames;
    });
  os << "}\n";
  return os.str();
}

void write_predictions(const std::string& path, const Predictions& preds) {
  std::string text;
  try {
    text = predictions_to_string(preds);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  write_file_atomic(path, text);
}

Predictions predictions_from_string(const std::string& text, const std::string& origin) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    throw DataError(origin, std::string("not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) throw DataError(origin, "expected a JSON object at the top level");
  if (!doc.contains("dataset") || !doc["dataset"].is_string())
    throw DataError(origin, "missing string field \"dataset\" (penn or jhmdb)");
  Predictions p;
  try {
    p.dataset = doc["dataset"].get<std::string>();
    dataset_spec(p.dataset);  // a registered data set, or a ConfigError naming the known ones
  } catch (const ConfigError& e) {
    throw DataError(origin, e.what());
  }
  const std::string dataset_name = p.dataset;
  const Skeleton* sk = &skeleton_for(p.dataset);
  p.num_joints = sk->num_joints();
  if (!doc.contains("joints")) throw DataError(origin, "missing field \"joints\" (joint names or count)");
  const json& jn = doc["joints"];
  if (jn.is_number_integer()) {
    if (jn.get<long long>() != p.num_joints)
      throw DataError(origin, "\"joints\" is " + jn.dump() + " but " + dataset_name + " has " +
                                  std::to_string(p.num_joints) + " joints");
  } else if (jn.is_array()) {
    if (jn.size() != static_cast<std::size_t>(p.num_joints))
      throw DataError(origin, "\"joints\" lists " + std::to_string(jn.size()) + " joints but " + dataset_name +
                                  " has " + std::to_string(p.num_joints));
    for (std::size_t j = 0; j < jn.size(); ++j)
      if (!jn[j].is_string() || jn[j].get<std::string>() != sk->joint_names[j])
        throw DataError(origin, "\"joints\"[" + std::to_string(j) + "] is " + jn[j].dump() + ", expected \"" +
                                    sk->joint_names[j] + "\" (" + dataset_name + " joint order)");
  } else {
    throw DataError(origin, "\"joints\" must be a list of joint names or a count, got " + type_name(jn));
  }
  if (!doc.contains("videos") || !doc["videos"].is_object())
    throw DataError(origin, "missing object field \"videos\" ({video_id: [[[x, y], ...], ...]})");
  const std::size_t J = static_cast<std::size_t>(p.num_joints);
  for (const auto& item : doc["videos"].items()) {
    const std::string& id = item.key();
    const json& frames = item.value();
    if (!frames.is_array())
      throw DataError(origin, "video '" + id + "': expected a list of frames, got " + type_name(frames));
    std::vector<Point2> pts;
    pts.reserve(frames.size() * J);
    for (std::size_t t = 0; t < frames.size(); ++t) {
      const json& fr = frames[t];
      if (!fr.is_array() || fr.size() != J)
        throw DataError(origin, "video '" + id + "' frame " + std::to_string(t + 1) + ": expected " +
                                    std::to_string(J) + " joints, got " +
                                    (fr.is_array() ? std::to_string(fr.size()) : type_name(fr)));
      for (std::size_t j = 0; j < J; ++j) {
        const json& xy = fr[j];
        if (!xy.is_array() || xy.size() != 2 || !xy[0].is_number() || !xy[1].is_number())
          throw DataError(origin, where(id, t, j) + ": expected [x, y] numbers, got " + xy.dump());
        const double x = xy[0].get<double>() - 1.0, y = xy[1].get<double>() - 1.0;
        const Point2 q{static_cast<float>(x), static_cast<float>(y)};
        if (!is_finite(q)) throw DataError(origin, where(id, t, j) + ": coordinate out of range: " + xy.dump());
        pts.push_back(q);
      }
    }
    p.videos.emplace(id, std::move(pts));
  }
  return p;
}

Predictions read_predictions(const std::string& path) { return predictions_from_string(read_file(path), path); }

int validate_predictions(const Predictions& preds, const std::vector<VideoRecord>& records, const std::string& origin) {
  std::set<std::string> used;
  for (const auto& r : records) {
    if (r.dataset != preds.dataset)
      throw DataError(origin, "predictions are for data set '" + preds.dataset + "' but video '" + r.id +
                                  "' is from '" + r.dataset + "'");
    if (r.num_joints != preds.num_joints)
      throw DataError(origin, "video '" + r.id + "' has " + std::to_string(r.num_joints) +
                                  " joints, predictions have " + std::to_string(preds.num_joints));
    auto it = preds.videos.find(r.id);
    if (it == preds.videos.end())
      throw DataError(origin, "missing video '" + r.id + "' (" + std::to_string(records.size()) +
                                  " videos to evaluate, " + std::to_string(preds.videos.size()) + " in the file)");
    const std::size_t T = it->second.size() / static_cast<std::size_t>(preds.num_joints);
    if (T != static_cast<std::size_t>(r.num_frames()))
      throw DataError(origin, "video '" + r.id + "' has " + std::to_string(T) + " predicted frames, the data set has " +
                                  std::to_string(r.num_frames()));
    used.insert(r.id);
  }
  return static_cast<int>(preds.videos.size() - used.size());
}

Predictions predictions_from_records(const std::vector<VideoRecord>& records) {
  Predictions p;
  if (!records.empty()) {
    p.dataset = records[0].dataset;
    p.num_joints = records[0].num_joints;
  }
  for (const auto& r : records) p.videos[r.id] = r.joints;
  return p;
}

}  // namespace dkd
