#include "dkd/infer/infer_command.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>

#include <spdlog/spdlog.h>

#include "dkd/data/image_io.h"
#include "dkd/data/skeleton.h"
#include "dkd/eval/predictions.h"
#include "dkd/infer/frame_source.h"
#include "dkd/infer/landmark_tracker.h"
#include "dkd/infer/overlay.h"
#include "dkd/infer/pose_tracker.h"
#include "dkd/models/backbone.h"
#include "dkd/models/blazepose.h"
#include "dkd/models/factory.h"
#include "dkd/util/error.h"
#include "dkd/util/progress.h"
#include "dkd/util/runtime.h"
#include "dkd/util/stop_signals.h"
#include "dkd/config/kinds.h"
#include "dkd/config/schema.h"

namespace fs = std::filesystem;

namespace dkd {

Box parse_box(const std::string& text) {
  std::vector<float> v;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      std::size_t used = 0;
      const float f = std::stof(item, &used);
      if (item.find_first_not_of(" \t", used) != std::string::npos) throw std::invalid_argument(item);
      v.push_back(f);
    } catch (const std::exception&) {
      throw UsageError("--box " + text + ": '" + item + "' is not a number (expected x1,y1,x2,y2 in pixels)");
    }
  }
  if (v.size() != 4) throw UsageError("--box " + text + ": expected four numbers x1,y1,x2,y2 in pixels");
  return {v[0], v[1], v[2], v[3]};
}

std::string default_video_id(const std::string& input) {
  const std::string prefix = "camera:";
  if (input.compare(0, prefix.size(), prefix) == 0) return "camera" + input.substr(prefix.size());
  fs::path p(input);
  while (!p.empty() && p.filename().empty()) p = p.parent_path();  // "frames/" -> "frames"
  std::error_code ec;
  if (fs::is_directory(p, ec)) return p.filename().string();
  const std::string stem = p.stem().string();
  return stem.empty() ? "video" : stem;
}

namespace {

DkdModel untrained_model(const Config& config) {
  Config c = config;
  c.model.initializer.pretrained.clear();
  c.model.encoder.pretrained.clear();
  return make_dkd_model(c);
}

std::string fmt(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, value);
  return buf;
}

}  // namespace

int run_infer(const Config& config, const InferOptions& options) {
  const bool teacher = !options.teacher.empty();
  if (teacher && (!options.checkpoint.empty() || options.random_weights)) {
    throw UsageError("--teacher runs BlazePose alone: give it without --checkpoint / --random-weights");
  }
  if (!teacher && options.checkpoint.empty() && !options.random_weights) {
    throw UsageError(
        "--checkpoint FILE is required (or --teacher blazepose_full for the pretrained BlazePose, or "
        "--random-weights to check the pipeline with an untrained model)");
  }
  if (options.out.empty()) throw UsageError("--out DIR is required");
  // Cheap checks first: the input and the box, then the model.
  auto source = open_frame_source(options.input);
  const cv::Size size = source->frame_size();
  Box box{0.f, 0.f, static_cast<float>(size.width), static_cast<float>(size.height)};
  if (!options.box.empty()) {
    box = parse_box(options.box);
    check_box_in_frame(box, size);
  }
  const std::optional<BlazePoseSize> teacher_size =
      teacher ? std::optional<BlazePoseSize>(parse_blazepose(options.teacher)) : std::nullopt;
  const std::string teacher_name = teacher_size ? blazepose_name(*teacher_size) : std::string();
  std::string box_note =
      options.box.empty() ? "; first box = the whole frame (give --box x1,y1,x2,y2 for a person)" : "";
  if (teacher && options.box.empty()) box_note = "; first box from OpenCV's HOG people detector";
  spdlog::info("input: {}{}", source->description(), box_note);

  const std::string video_id = options.video_id.empty() ? default_video_id(options.input) : options.video_id;
  Predictions predictions;
  predictions.dataset = config.data.dataset;
  std::unique_ptr<PoseTracker> tracker;
  std::unique_ptr<LandmarkTracker> landmark_tracker;
  if (teacher) {
    BlazePose network = load_blazepose(*teacher_size);
    set_packed_inference(*network, config.infer);  // infer.precision: bfloat16 where the CPU has it
    landmark_tracker = std::make_unique<LandmarkTracker>(network, skeleton_for(config.data.dataset).joint_names,
                                                         options.box_margin, config.runtime.device);
    predictions.num_joints = landmark_tracker->num_joints();
    predictions.num_landmarks = kBlazePoseLandmarks;
    spdlog::info("tracker: {} on every frame (crop margin {})", blazepose_name(*teacher_size), options.box_margin);
  } else if (options.checkpoint.empty()) {
    spdlog::warn("--random-weights: an UNTRAINED model; the keypoints are meaningless (pipeline check only)");
    torch::manual_seed(config.runtime.seed);
    tracker = std::make_unique<PoseTracker>(config, untrained_model(config));
  } else {
    tracker = std::make_unique<PoseTracker>(config, options.checkpoint);
  }
  if (tracker) {
    predictions.num_joints = tracker->num_joints();
    if (tracker->bn_folded()) spdlog::info("batch norm folded into {} convolutions", tracker->fold_report().folded);
  }

  ensure_writable_dir(options.out);
  const std::string keypoints_path = (fs::path(options.out) / "keypoints.json").string();
  std::unique_ptr<OverlayWriter> writer;
  if (options.overlay) {
    writer = std::make_unique<OverlayWriter>((fs::path(options.out) / "overlay").string(), source->fps(), size);
  }
  const Skeleton* skeleton = nullptr;
  try {
    skeleton = &skeleton_for(config.data.dataset);
  } catch (const Error&) {
    skeleton = nullptr;
  }

  auto& points = predictions.videos[video_id];
  std::vector<std::array<float, 3>>* landmarks = teacher ? &predictions.landmarks[video_id] : nullptr;

  ScopedStopSignals stop_signals;
  int64_t total = source->is_live() ? -1 : source->frame_count();
  if (options.max_frames > 0) total = total < 0 ? options.max_frames : std::min<int64_t>(total, options.max_frames);
  std::unique_ptr<ProgressBar> bar;
  if (options.progress) bar = std::make_unique<ProgressBar>("dkd_infer", total, "frames");

  using clock = std::chrono::steady_clock;
  double track_s = 0.0;
  const auto start_time = clock::now();
  DrawOptions draw;
  draw.threshold = config.infer.draw_threshold;
  cv::Mat frame;
  int64_t frames = 0;
  double confidence_sum = 0.0;
  while ((options.max_frames <= 0 || frames < options.max_frames) && !ScopedStopSignals::stop_requested() &&
         source->next(frame)) {
    if (frames == 0 && teacher && options.box.empty()) {
      const std::optional<Box> found = detect_person_hog(frame);
      if (found) {
        box = *found;
        spdlog::info("HOG people detector: person at {:.0f},{:.0f},{:.0f},{:.0f}", box.x1, box.y1, box.x2, box.y2);
      } else {
        spdlog::warn("HOG people detector found no person in the first frame; starting from the whole frame");
      }
    }
    const auto t0 = clock::now();
    TrackResult r;
    std::string note;
    if (teacher) {
      LandmarkResult l = frames == 0 ? landmark_tracker->start(frame, box) : landmark_tracker->track(frame);
      landmarks->insert(landmarks->end(), l.landmarks.begin(), l.landmarks.end());
      note = "  person " + fmt("%.2f", l.pose_flag) + (l.same_person ? "" : " (someone else)");
      r = std::move(l.track);
    } else {
      r = frames == 0 ? tracker->start(frame, box) : tracker->track(frame);
      if (r.initializer_ran) note = "  [initializer]";
    }
    track_s += std::chrono::duration<double>(clock::now() - t0).count();
    points.insert(points.end(), r.keypoints.begin(), r.keypoints.end());
    predictions.scores[video_id].insert(predictions.scores[video_id].end(), r.confidence.begin(), r.confidence.end());
    predictions.boxes[video_id].push_back(r.box);
    confidence_sum += r.mean_confidence;
    const bool snapshot =
        std::find(options.snapshots.begin(), options.snapshots.end(), frames) != options.snapshots.end();
    if (writer || snapshot) {
      draw.caption = "frame " + std::to_string(frames) + "  conf " + fmt("%.2f", r.mean_confidence) + note;
      draw_pose(frame, r.keypoints, r.confidence, skeleton, &r.box, draw);
      if (writer) writer->write(frame);
      if (snapshot) {
        char name[32];
        std::snprintf(name, sizeof name, "frame_%05lld.png", static_cast<long long>(frames));
        write_image_atomic((fs::path(options.out) / name).string(), frame);
      }
    }
    ++frames;
    if (bar) bar->tick(1, "conf " + fmt("%.2f", r.mean_confidence));
  }
  if (bar) bar->finish();
  if (ScopedStopSignals::stop_requested())
    spdlog::warn("stopped by signal after {} frames; writing what was tracked", frames);
  if (frames == 0) throw DataError(options.input, "no frame could be read");
  if (writer) writer->close();
  write_predictions(keypoints_path, predictions);
  const double wall_s = std::chrono::duration<double>(clock::now() - start_time).count();

  const double ms_track = 1000.0 * track_s / frames;
  const double ms_total = 1000.0 * wall_s / frames;
  std::printf("dkd_infer: %lld frames", static_cast<long long>(frames));
  if (source->skipped() > 0)
    std::printf(" (%lld undecodable frames skipped)", static_cast<long long>(source->skipped()));
  std::printf(" from %s in %.1f s\n", source->description().c_str(), wall_s);
  if (teacher) {
    std::printf(
        "  %s (crop + network + landmarks): %.2f ms/frame, %.1f fps; person flag below 0.5 on %lld frames; "
        "mean confidence %.3f\n",
        teacher_name.c_str(), ms_track, 1000.0 / std::max(ms_track, 1e-9),
        static_cast<long long>(landmark_tracker->lost_frames()), confidence_sum / frames);
  } else {
    std::printf(
        "  tracker (crop + network + decode): %.2f ms/frame, %.1f fps; initializer runs: %lld; "
        "mean confidence %.3f\n",
        ms_track, 1000.0 / std::max(ms_track, 1e-9), static_cast<long long>(tracker->initializer_runs()),
        confidence_sum / frames);
  }
  std::printf("  end to end (read + track + draw + write): %.2f ms/frame, %.1f fps\n", ms_total,
              1000.0 / std::max(ms_total, 1e-9));
  std::printf("  wrote %s (video id \"%s\")%s%s\n", keypoints_path.c_str(), video_id.c_str(), writer ? " and " : "",
              writer ? writer->path().c_str() : "");
  std::fflush(stdout);
  return 0;
}

Config teacher_config(const std::vector<std::string>& overrides) {
  std::string base = "{}";
  bool joints_given = false;
  for (const auto& o : overrides) joints_given |= o.rfind("model.num_joints=", 0) == 0;
  for (const auto& o : overrides) {
    if (o.rfind("data.dataset=", 0) == 0 && !joints_given) {
      const int joints = dataset_spec(o.substr(13)).skeleton.num_joints();
      base = "{model: {num_joints: " + std::to_string(joints) + "}}";
    }
  }
  return load_config_from_string(base, overrides, "--teacher defaults");
}

}  // namespace dkd
