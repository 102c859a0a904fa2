#include "dkd/infer/pseudo_label.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <spdlog/spdlog.h>

#include "dkd/data/mat_writer.h"
#include "dkd/data/skeleton.h"
#include "dkd/infer/frame_source.h"
#include "dkd/infer/landmark_tracker.h"
#include "dkd/models/blazepose.h"
#include "dkd/util/error.h"
#include "dkd/util/progress.h"
#include "dkd/util/runtime.h"
#include "dkd/util/stop_signals.h"

namespace fs = std::filesystem;

namespace dkd {

double box_iou(const Box& a, const Box& b) {
  const double iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  const double ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  if (iw <= 0 || ih <= 0) return 0.0;
  const double inter = iw * ih;
  const double area_a = std::max(0.f, a.width()) * std::max(0.f, a.height());
  const double area_b = std::max(0.f, b.width()) * std::max(0.f, b.height());
  const double uni = area_a + area_b - inter;
  return uni > 0 ? inter / uni : 0.0;
}

namespace {

void validate(const PseudoLabelOptions& o) {
  parse_blazepose(o.teacher);  // UsageError naming the choices
  if (o.input.empty()) throw UsageError("--input: a video file or a folder of images is required");
  if (o.out.empty()) throw UsageError("--out: the data set folder is required");
  auto at_least = [](const char* name, double v, double lo) {
    if (!(v >= lo))
      throw UsageError(std::string(name) + ": expected at least " + std::to_string(lo) + ", got " + std::to_string(v));
  };
  at_least("--max-people", o.max_people, 1);
  at_least("--detect-every", o.detect_every, 0);
  at_least("--min-frames", o.min_frames, 1);
  at_least("--max-lost", o.max_lost, 0);
  at_least("--max-frames", static_cast<double>(o.max_frames), 0);
  if (o.test_from < -1)
    throw UsageError("--test-from: expected a frame index (0-based) or -1, got " + std::to_string(o.test_from));
  if (!(o.min_visibility >= 0 && o.min_visibility <= 1))
    throw UsageError("--min-visibility: expected a value in [0, 1], got " + std::to_string(o.min_visibility));
  if (!(o.box_margin >= 0 && o.box_margin <= 4))
    throw UsageError("--box-margin: expected a value in [0, 4], got " + std::to_string(o.box_margin));
  if (!(o.box_padding >= 0 && o.box_padding <= 1))
    throw UsageError("--box-padding: expected a value in [0, 1], got " + std::to_string(o.box_padding));
  if (!(o.same_person_iou > 0 && o.same_person_iou <= 1))
    throw UsageError("--same-person-iou: expected a value in (0, 1], got " + std::to_string(o.same_person_iou));
  if (o.jpeg_quality < 1 || o.jpeg_quality > 100)
    throw UsageError("--jpeg-quality: expected 1..100, got " + std::to_string(o.jpeg_quality));
  if (o.action.empty() || o.action.find_first_of("/\\\n") != std::string::npos)
    throw UsageError("--action: expected a non-empty name without slashes, got '" + o.action + "'");
}

// The output folder: refuses to mix with an existing data set unless --force.
void prepare_out(const PseudoLabelOptions& o) {
  std::error_code ec;
  for (const char* part : {"frames", "labels", "pseudo_label.json"}) {
    const fs::path p = fs::path(o.out) / part;
    if (!fs::exists(p, ec)) continue;
    if (!o.force)
      throw UsageError("--out: '" + o.out + "' already holds a data set (" + p.string() +
                       "); use --force to replace it or choose another folder");
    fs::remove_all(p, ec);
    if (ec) throw Error(p.string() + ": cannot remove: " + ec.message());
  }
  ensure_writable_dir(o.out);
}

struct LabelFrame {
  std::vector<Point2> joints;
  std::vector<uint8_t> visible;
  Box box;
  bool person = false;  ///< person flag >= 0.5
  double visibility = 0.0;
};

// One person followed through the input. Its frames are written as they come
// (frames/.track_<n>/), and a piece of it becomes a Penn video when it ends.
struct Track {
  int number = 0;
  std::unique_ptr<LandmarkTracker> tracker;
  int64_t piece_first_frame = 0;  ///< source frame of the current piece's first frame
  bool piece_train = true;
  std::vector<LabelFrame> frames;  ///< of the current piece
  int lost_in_a_row = 0;
  Box last_box;
  double last_jump = 0.0;  ///< box-centre move in the latest frame, in box heights
  bool live = true;
  fs::path frame_dir;  ///< temporary folder of the current piece's JPEGs
};

Box landmark_box(const LandmarkResult& r, double padding, cv::Size size) {
  std::vector<const std::array<float, 3>*> points;
  for (const auto& p : r.landmarks)
    if (p[2] >= 0.5f && std::isfinite(p[0]) && std::isfinite(p[1])) points.push_back(&p);
  if (points.size() < 4) {
    points.clear();
    for (const auto& p : r.landmarks)
      if (std::isfinite(p[0]) && std::isfinite(p[1])) points.push_back(&p);
  }
  if (points.empty()) return r.track.box;
  Box b{(*points[0])[0], (*points[0])[1], (*points[0])[0], (*points[0])[1]};
  for (const auto* p : points) {
    b.x1 = std::min(b.x1, (*p)[0]);
    b.y1 = std::min(b.y1, (*p)[1]);
    b.x2 = std::max(b.x2, (*p)[0]);
    b.y2 = std::max(b.y2, (*p)[1]);
  }
  const float px = static_cast<float>(padding * b.width()), py = static_cast<float>(padding * b.height());
  b = {b.x1 - px, b.y1 - py, b.x2 + px, b.y2 + py};
  b.x1 = std::clamp(b.x1, 0.f, size.width - 1.f);
  b.x2 = std::clamp(b.x2, 0.f, size.width - 1.f);
  b.y1 = std::clamp(b.y1, 0.f, size.height - 1.f);
  b.y2 = std::clamp(b.y2, 0.f, size.height - 1.f);
  return b;
}

/// The Penn frame file name of the 0-based frame `index` of a piece ("000001.jpg").
std::string frame_file(std::size_t index) {
  char name[32];
  std::snprintf(name, sizeof name, "%06d.jpg", static_cast<int>(index) + 1);
  return name;
}

std::string video_id(int n) {
  char id[16];
  std::snprintf(id, sizeof id, "%04d", n);
  return id;
}

class PseudoLabeller {
 public:
  PseudoLabeller(const PseudoLabelOptions& o, cv::Size size)
      : o_(o),
        size_(size),
        network_(load_blazepose(parse_blazepose(o.teacher))),
        device_(resolve_device(o.device)),
        joint_names_(skeleton_for(o.joints).joint_names) {
    network_->to(device_);
    network_->eval();
  }

  const PseudoLabelReport& report() const { return report_; }

  void step(const cv::Mat& frame, int64_t t) {
    if (o_.test_from >= 0 && t == o_.test_from) {
      for (auto& track : tracks_)
        if (track.live) cut(track, t, "test split");
    }
    for (auto& track : tracks_) {
      if (!track.live) continue;
      add_frame(track, track.tracker->track(frame), frame, t);
      if (track.lost_in_a_row > o_.max_lost) finish(track, "lost");
    }
    resolve_meetings();
    const bool detect_now = t == 0 || (o_.detect_every > 0 && t % o_.detect_every == 0);
    if (t == 0 && !o_.boxes.empty()) {
      for (const Box& b : o_.boxes) start_track(frame, b, t);
    } else if (detect_now && o_.boxes.empty()) {
      for (const Box& b : detect_people_hog(frame)) {
        if (live_count() >= o_.max_people) break;
        bool known = false;
        for (const auto& track : tracks_) known |= track.live && box_iou(b, track.last_box) > 0.3;
        if (!known) start_track(frame, b, t);
      }
    }
    ++report_.frames_read;
  }

  void finish_all(const std::string& why) {
    for (auto& track : tracks_)
      if (track.live) finish(track, why);
  }

  void write_meta(const std::string& input_description) const {
    nlohmann::json j;
    j["teacher"] = o_.teacher;
    j["input"] = o_.input;
    j["input_description"] = input_description;
    j["joints"] = o_.joints;
    j["frames_read"] = report_.frames_read;
    j["tracks"] = report_.tracks;
    j["too_short"] = report_.too_short;
    j["stopped"] = report_.stopped;
    j["options"] = {
        {"max_people", o_.max_people},     {"detect_every", o_.detect_every}, {"min_frames", o_.min_frames},
        {"max_lost", o_.max_lost},         {"test_from", o_.test_from},       {"min_visibility", o_.min_visibility},
        {"box_margin", o_.box_margin},     {"box_padding", o_.box_padding},   {"same_person_iou", o_.same_person_iou},
        {"boxes_given", !o_.boxes.empty()}};
    auto& videos = j["videos"] = nlohmann::json::array();
    for (const auto& v : report_.videos) {
      videos.push_back({{"id", v.id},
                        {"track", v.track},
                        {"first_frame", v.first_frame},
                        {"frames", v.num_frames},
                        {"split", v.train ? "train" : "test"},
                        {"ended", v.ended},
                        {"mean_visibility", v.mean_visibility}});
    }
    write_file_atomic((fs::path(o_.out) / "pseudo_label.json").string(), j.dump(2) + "\n");
  }

 private:
  int live_count() const {
    return static_cast<int>(std::count_if(tracks_.begin(), tracks_.end(), [](const Track& t) { return t.live; }));
  }

  void start_track(const cv::Mat& frame, const Box& box, int64_t t) {
    Track track;
    track.number = ++report_.tracks;
    track.tracker = std::make_unique<LandmarkTracker>(network_, joint_names_, o_.box_margin, device_);
    const LandmarkResult r = track.tracker->start(frame, box);
    if (r.pose_flag < 0.5f && o_.boxes.empty()) {
      // A detection the network does not take for a person: no track.
      --report_.tracks;
      return;
    }
    begin_piece(track, t, o_.test_from < 0 || t < o_.test_from);
    track.last_box = landmark_box(r, o_.box_padding, size_);
    add_frame(track, r, frame, t);
    tracks_.push_back(std::move(track));
  }

  void begin_piece(Track& track, int64_t t, bool train) {
    track.piece_first_frame = t;
    track.piece_train = train;
    track.frames.clear();
    track.frame_dir =
        fs::path(o_.out) / "frames" / (".track_" + std::to_string(track.number) + "_" + std::to_string(t));
    std::error_code ec;
    fs::create_directories(track.frame_dir, ec);
    if (ec) throw Error(track.frame_dir.string() + ": cannot create folder: " + ec.message());
  }

  void add_frame(Track& track, const LandmarkResult& r, const cv::Mat& frame, int64_t t) {
    LabelFrame f;
    f.person = r.person_seen();
    f.box = landmark_box(r, o_.box_padding, size_);
    f.joints = r.track.keypoints;
    double sum = 0.0;
    for (std::size_t j = 0; j < f.joints.size(); ++j) {
      const Point2& p = f.joints[j];
      const bool inside = is_finite(p) && p.x >= 0 && p.y >= 0 && p.x <= size_.width - 1 && p.y <= size_.height - 1;
      f.visible.push_back(f.person && inside && r.track.confidence[j] >= o_.min_visibility ? 1 : 0);
      sum += r.track.confidence[j];
    }
    f.visibility = f.joints.empty() ? 0.0 : sum / f.joints.size();
    const Box& prev = track.last_box;
    const double cx = 0.5 * (f.box.x1 + f.box.x2) - 0.5 * (prev.x1 + prev.x2);
    const double cy = 0.5 * (f.box.y1 + f.box.y2) - 0.5 * (prev.y1 + prev.y2);
    track.last_jump = std::hypot(cx, cy) / std::max(1.f, prev.height());
    track.last_box = f.box;
    track.lost_in_a_row = f.person ? 0 : track.lost_in_a_row + 1;

    std::vector<uchar> jpg;
    if (!cv::imencode(".jpg", frame, jpg, {cv::IMWRITE_JPEG_QUALITY, o_.jpeg_quality}))
      throw Error(o_.input + ": frame " + std::to_string(t) + " could not be encoded as JPEG");
    write_file((track.frame_dir / frame_file(track.frames.size())).string(), std::string(jpg.begin(), jpg.end()));
    track.frames.push_back(std::move(f));
  }

  // Two live tracks on one person: the one whose box jumped more ends.
  void resolve_meetings() {
    for (std::size_t a = 0; a < tracks_.size(); ++a) {
      for (std::size_t b = a + 1; b < tracks_.size(); ++b) {
        Track& ta = tracks_[a];
        Track& tb = tracks_[b];
        if (!ta.live || !tb.live) continue;
        if (box_iou(ta.last_box, tb.last_box) < o_.same_person_iou) continue;
        Track& loser = ta.last_jump > tb.last_jump ? ta : tb;
        const Track& keeper = &loser == &ta ? tb : ta;
        // The meeting frame is already the other person's: drop it from the loser.
        if (!loser.frames.empty()) {
          loser.frames.pop_back();
          std::error_code ec;
          fs::remove(loser.frame_dir / frame_file(loser.frames.size()), ec);
        }
        finish(loser, "met track " + std::to_string(keeper.number));
      }
    }
  }

  // Ends the current piece and starts the test piece of the same person.
  void cut(Track& track, int64_t t, const std::string& why) {
    write_piece(track, why);
    begin_piece(track, t, false);
  }

  void finish(Track& track, const std::string& why) {
    // Trailing frames without a person are not the person.
    std::error_code ec;
    while (!track.frames.empty() && !track.frames.back().person) {
      track.frames.pop_back();
      fs::remove(track.frame_dir / frame_file(track.frames.size()), ec);
    }
    write_piece(track, why);
    track.live = false;
    track.tracker.reset();
  }

  void write_piece(Track& track, const std::string& why) {
    std::error_code ec;
    if (static_cast<int>(track.frames.size()) < o_.min_frames) {
      if (!track.frames.empty()) ++report_.too_short;
      fs::remove_all(track.frame_dir, ec);
      track.frames.clear();
      return;
    }
    const int T = static_cast<int>(track.frames.size());
    const int J = static_cast<int>(joint_names_.size());
    VideoRecord v;
    v.dataset = "penn";  // written in Penn Action's layout, read back by its reader
    v.id = video_id(static_cast<int>(report_.videos.size()) + 1);
    v.action = o_.action;
    v.train = track.piece_train;
    v.width = size_.width;
    v.height = size_.height;
    v.num_joints = J;
    double visibility = 0.0;
    for (int t = 0; t < T; ++t) {
      const LabelFrame& f = track.frames[t];
      v.frame_paths.push_back(penn_frame_path(o_.out, v.id, t));
      v.joints.insert(v.joints.end(), f.joints.begin(), f.joints.end());
      v.visible.insert(v.visible.end(), f.visible.begin(), f.visible.end());
      v.boxes.push_back(f.box);
      visibility += f.visibility / T;
    }
    const fs::path final_dir = fs::path(o_.out) / "frames" / v.id;
    fs::rename(track.frame_dir, final_dir, ec);
    if (ec) throw Error(final_dir.string() + ": cannot rename " + track.frame_dir.string() + ": " + ec.message());
    write_penn_labels(v, penn_label_path(o_.out, v.id), "front");
    report_.videos.push_back({v.id, track.number, track.piece_first_frame, T, v.train, why, visibility});
    spdlog::info("video {}: track {}, source frames {}-{}, {}, ended: {}", v.id, track.number, track.piece_first_frame,
                 track.piece_first_frame + T - 1, v.train ? "train" : "test", why);
    track.frames.clear();
  }

  const PseudoLabelOptions& o_;
  cv::Size size_;
  BlazePose network_;
  c10::Device device_;
  std::vector<std::string> joint_names_;
  std::vector<Track> tracks_;
  PseudoLabelReport report_;
};

}  // namespace

PseudoLabelReport pseudo_label(const PseudoLabelOptions& o) {
  validate(o);
  auto source = open_frame_source(o.input);
  if (source->is_live()) throw UsageError("--input: a camera has no end; give a video file or a folder of images");
  for (const Box& b : o.boxes) check_box_in_frame(b, source->frame_size());
  prepare_out(o);
  PseudoLabeller labeller(o, source->frame_size());
  spdlog::info("pseudo-label: {} over {}{}", o.teacher, source->description(),
               o.boxes.empty() ? "; people from OpenCV's HOG detector" : "");

  ScopedStopSignals stop_signals;
  int64_t total = source->frame_count();
  if (o.max_frames > 0) total = total < 0 ? o.max_frames : std::min<int64_t>(total, o.max_frames);
  std::unique_ptr<ProgressBar> bar;
  if (o.progress) bar = std::make_unique<ProgressBar>("pseudo-label", total, "frames");
  cv::Mat frame;
  int64_t t = 0;
  while ((o.max_frames <= 0 || t < o.max_frames) && !ScopedStopSignals::stop_requested() && source->next(frame)) {
    labeller.step(frame, t);
    ++t;
    if (bar) bar->tick(1, std::to_string(labeller.report().videos.size()) + " videos");
  }
  if (bar) bar->finish();
  const bool stopped = ScopedStopSignals::stop_requested();
  if (stopped) spdlog::warn("stopped by signal after {} frames; writing every track so far", t);
  if (t == 0) throw DataError(o.input, "no frame could be read");
  labeller.finish_all(stopped ? "stopped" : "end of input");
  PseudoLabelReport report = labeller.report();
  report.stopped = stopped;
  // Empty leftovers of pieces that were never written (none expected; a crash could leave some).
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(o.out) / "frames", ec))
    if (e.path().filename().string().rfind(".track_", 0) == 0) fs::remove_all(e.path(), ec);
  labeller.write_meta(source->description());
  return report;
}

int run_pseudo_label(const PseudoLabelOptions& options) {
  const PseudoLabelReport r = pseudo_label(options);
  int train = 0, test = 0;
  int64_t train_frames = 0, test_frames = 0;
  for (const auto& v : r.videos) {
    (v.train ? train : test) += 1;
    (v.train ? train_frames : test_frames) += v.num_frames;
  }
  std::printf(
      "pseudo-label: %lld frames, %d tracks -> %zu videos (train %d with %lld frames, test %d with %lld "
      "frames; %d pieces under %d frames not written)%s\n",
      static_cast<long long>(r.frames_read), r.tracks, r.videos.size(), train, static_cast<long long>(train_frames),
      test, static_cast<long long>(test_frames), r.too_short, options.min_frames,
      r.stopped ? "; stopped by signal" : "");
  std::printf("  wrote %s (Penn Action layout; dkd_data check --dataset penn --root %s) and %s/pseudo_label.json\n",
              options.out.c_str(), options.out.c_str(), options.out.c_str());
  if (r.videos.empty()) {
    spdlog::error("no track reached {} frames; nothing to train on (try --box, or a lower --min-frames)",
                  options.min_frames);
    return 1;
  }
  return 0;
}

}  // namespace dkd
