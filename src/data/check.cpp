#include "dkd/data/check.h"

#include <cstdio>
#include <algorithm>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "dkd/data/image_io.h"
#include "dkd/data/skeleton.h"
#include "dkd/util/error.h"
#include "dkd/util/parallel.h"
#include "dkd/util/runtime.h"

namespace dkd {

std::string DataCheckReport::to_json() const {
  nlohmann::json j;
  j["dataset"] = dataset;
  j["videos"] = videos;
  j["frames"] = frames;
  j["train_videos"] = train_videos;
  j["test_videos"] = test_videos;
  j["joints"] = joints;
  j["actions"] = nlohmann::json::object();
  for (const auto& [a, n] : actions) j["actions"][a] = n;
  j["problems"] = nlohmann::json::array();
  for (const auto& p : problems) j["problems"].push_back({{"file", p.file}, {"error", p.error}});
  return j.dump(2) + "\n";
}

std::string DataCheckReport::summary() const {
  std::string s = dataset + " data set at " + root + ": " + std::to_string(videos) + " videos (" +
                  std::to_string(train_videos) + " train, " + std::to_string(test_videos) + " test), " +
                  std::to_string(frames) + " frames, " + std::to_string(joints) + " joints, " +
                  std::to_string(actions.size()) + " actions\n";
  for (const auto& [a, n] : actions) s += "  " + a + ": " + std::to_string(n) + "\n";
  if (problems.empty()) {
    s += "no problems\n";
  } else {
    s += std::to_string(problems.size()) + " problem(s):\n";
    for (const auto& p : problems) s += "  " + p.file + ": " + p.error + "\n";
  }
  return s;
}

DataCheckReport check_dataset(const std::string& dataset, const std::string& root, int split, bool decode_images,
                              double margin) {
  DataCheckReport r;
  r.dataset = dataset;
  r.root = root;
  r.joints = skeleton_for(dataset).num_joints();
  DatasetScan scan;
  try {
    scan = scan_dataset(dataset, root, split, margin);
  } catch (const DataError& e) {
    r.problems.push_back({e.file(), e.problem()});
    return r;
  }
  r.problems = scan.problems;
  // Decode every frame, in parallel over videos; a video with a bad frame is a problem.
  std::vector<std::vector<DataProblem>> frame_problems(scan.videos.size());
  if (decode_images) {
    // One thread per core, at most 8 (beyond that the disk, not libjpeg, is the limit).
    const int threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
    parallel_for(scan.videos.size(), threads, [&](std::size_t i) {
      const VideoRecord& v = scan.videos[i];
      for (const auto& path : v.frame_paths) {
        std::string problem;
        cv::Mat img = try_decode_image(path, &problem, cv::IMREAD_COLOR);
        if (img.empty()) {
          frame_problems[i].push_back({path, problem});
        } else if (v.width > 0 && (img.cols != v.width || img.rows != v.height)) {
          frame_problems[i].push_back({path, "image is " + std::to_string(img.cols) + "x" + std::to_string(img.rows) +
                                                 " but the annotations say " + std::to_string(v.width) + "x" +
                                                 std::to_string(v.height)});
        }
      }
    });
  }
  for (std::size_t i = 0; i < scan.videos.size(); ++i) {
    const VideoRecord& v = scan.videos[i];
    if (!frame_problems[i].empty()) {
      r.problems.insert(r.problems.end(), frame_problems[i].begin(), frame_problems[i].end());
      continue;
    }
    ++r.videos;
    r.frames += v.num_frames();
    (v.train ? r.train_videos : r.test_videos) += 1;
    r.actions[v.action] += 1;
  }
  return r;
}

int run_data_check(const std::string& dataset, const std::string& root, int split, const std::string& json_path,
                   bool decode_images) {
  if (split < 1 || split > 3) throw UsageError("--split must be 1, 2 or 3");
  DataCheckReport r = check_dataset(dataset, root, split, decode_images);
  std::fputs(r.summary().c_str(), stdout);
  std::fflush(stdout);
  if (!json_path.empty()) write_file_atomic(json_path, r.to_json());
  return r.problems.empty() ? 0 : 1;
}

}  // namespace dkd
