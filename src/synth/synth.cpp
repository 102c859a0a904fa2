#include "dkd/synth/synth.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <spdlog/spdlog.h>

#include "dkd/data/mat_writer.h"
#include "dkd/data/skeleton.h"
#include "dkd/synth/actions.h"
#include "dkd/synth/backgrounds.h"
#include "dkd/synth/motion.h"
#include "dkd/synth/render.h"
#include "dkd/util/error.h"
#include "dkd/util/parallel.h"
#include "dkd/util/progress.h"
#include "dkd/util/runtime.h"

namespace fs = std::filesystem;

namespace dkd {

namespace {

/// Penn Action's layout (one labels .mat per video, visibility, boxes from the
/// silhouette) or JHMDB's (joint_positions, puppet masks, numbered split files).
bool writes_penn_layout(SynthFormat format) {
  switch (format) {
    case SynthFormat::penn:
      return true;
    case SynthFormat::jhmdb:
      return false;
  }
  return true;
}

// Internal body joint of each file joint.
const std::vector<int> kPennBodyJoints = {kHead, kLShoulder, kRShoulder, kLElbow, kRElbow, kLWrist, kRWrist,
                                          kLHip, kRHip,      kLKnee,     kRKnee,  kLAnkle, kRAnkle};
const std::vector<int> kJhmdbBodyJoints = {kNeck,   kBelly, kHead,  kRShoulder, kLShoulder, kRHip,   kLHip,  kRElbow,
                                           kLElbow, kRKnee, kLKnee, kRWrist,    kLWrist,    kRAnkle, kLAnkle};

uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t x = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL + (a << 6) + (a >> 2));
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 29;
  return x;
}

std::string pad(int v, int w) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%0*d", w, v);
  return buf;
}

std::string jhmdb_name(SynthRng& rng, const std::string& action, int index) {
  static const char* words[] = {"Clip", "Take", "Practice", "Morning", "Gym",
                                "Park", "Home", "Training", "Slowmo",  "Outdoor"};
  static const char* odd[] = {"_(1)+x", "!", "_@home", "_v.2", "+2", "_(copy)", "_!!_ok"};
  std::string name = std::string(words[rng.integer(0, 9)]) + "_" + action + "_synth_" + pad(index, 4);
  if (rng.chance(0.2)) name += odd[rng.integer(0, 6)];
  return name;
}

std::string encode(const cv::Mat& image, const std::string& ext, const std::vector<int>& params,
                   const std::string& what) {
  std::vector<uchar> buf;
  if (!cv::imencode(ext, image, buf, params)) throw Error("cannot encode " + what + " as " + ext);
  return std::string(buf.begin(), buf.end());
}

/// synth_meta.json: the generator, the options that decide the bytes, and the
/// file names of the background images (empty for procedural backgrounds).
std::string synth_meta_json(const SynthOptions& o, const std::vector<std::string>& background_paths) {
  nlohmann::ordered_json images = nlohmann::ordered_json::array();
  for (const auto& p : background_paths) images.push_back(fs::path(p).filename().string());
  nlohmann::ordered_json meta;
  meta["generator"] = kSynthGenerator;
  meta["seed"] = o.seed;
  meta["format"] = name_of(o.format);
  meta["videos"] = o.videos;
  meta["difficulty"] = o.difficulty;
  meta["width"] = o.width;
  meta["height"] = o.height;
  meta["min_frames"] = o.min_frames;
  meta["max_frames"] = o.max_frames;
  meta["backgrounds"] = o.backgrounds;
  meta["background_images"] = std::move(images);
  return meta.dump(2) + "\n";
}

}  // namespace

void validate(const SynthOptions& o) {
  if (o.out.empty()) throw UsageError("--out: an output folder is required");
  if (o.videos < 1 || o.videos > 9999)
    throw UsageError("--videos: " + std::to_string(o.videos) + " is out of range (1..9999)");
  if (o.width < 64 || o.height < 64 || o.width > 4096 || o.height > 4096)
    throw UsageError("--width/--height: " + std::to_string(o.width) + "x" + std::to_string(o.height) +
                     " is out of range (64..4096)");
  if (o.min_frames < 2 || o.max_frames < o.min_frames || o.max_frames > 10000)
    throw UsageError("--min-frames/--max-frames: " + std::to_string(o.min_frames) + ".." +
                     std::to_string(o.max_frames) + " is not a valid range (2 <= min <= max <= 10000)");
  if (o.threads < 0) throw UsageError("--threads: must be >= 0");
  synth_difficulty(o.difficulty);                      // throws for unknown names
  background_image_paths(o.backgrounds, o.photo_dir);  // throws for a missing folder or no images
}

namespace {

/// What stays the same over the frames of one video: the motion, the look of
/// the person, the scene behind and in front of them, and the lighting.
struct VideoScene {
  SynthMotion motion;
  Appearance look;
  cv::Mat canvas;
  double gain = 1.0, bias = 0.0;
  Occluder occ;
  uint64_t noise_seed = 0;
};

/// Draws the scene of video `index` from `rng` (after the frame count and the name).
VideoScene sample_scene(SynthRng& rng, const SynthOptions& o, const SynthDifficulty& diff,
                        const std::vector<cv::Mat>& photos, const std::string& action, int T, int index) {
  const int W = o.width, H = o.height;
  VideoScene s;
  s.motion = sample_motion(rng, action, T, W, H, diff.motion_scale);
  s.look = sample_appearance(rng);
  s.canvas = make_background(rng, W, H, diff, photos);
  s.gain = 1.0 + diff.lighting * rng.normal();
  s.bias = 40.0 * diff.lighting * rng.normal();
  const Projected pel = project(s.motion.cameras[0], s.motion.bodies[0].p[kPelvis]);
  const Projected head = project(s.motion.cameras[0], s.motion.bodies[0].p[kHead]);
  s.occ = sample_occluder(rng, T, W, H, pel.x, pel.y, std::max(20.0, 2.2 * std::abs(pel.y - head.y)),
                          diff.occluder_probability);
  s.noise_seed = mix(o.seed, static_cast<uint64_t>(index) + 0x5151);
  return s;
}

/// One rendered frame: the image, the whole person's mask (before foreground
/// occluders) and the projected joints with their visibility.
struct RenderedFrame {
  cv::Mat image;
  cv::Mat mask;
  PersonFrame person;
};

/// Frame `t`: background seen by the moving camera, the person, the occluder,
/// then motion blur (against `prev`, the previous frame's joints, updated here),
/// lighting and sensor noise.
RenderedFrame render_frame(const VideoScene& s, const SynthDifficulty& diff, int t, int W, int H,
                           std::vector<Projected>& prev) {
  const SynthCamera& cam0 = s.motion.cameras[0];
  const double dist0 = cam0.pos.z - s.motion.bodies[0].p[kPelvis].z;
  const SynthCamera& cam = s.motion.cameras[t];
  RenderedFrame out;
  cv::Mat& frame = out.image;
  frame = cv::Mat(H, W, CV_8UC3);
  const double zoom = cam.f / cam0.f;
  const double shift_x = -(cam.cx - cam0.cx) + 0.5 * cam.f * (cam.pos.x - cam0.pos.x) / dist0;
  const double shift_y = -(cam.cy - cam0.cy) - 0.5 * cam.f * (cam.pos.y - cam0.pos.y) / dist0;
  background_view(s.canvas, zoom, shift_x, shift_y, frame);
  cv::Mat ids = cv::Mat::zeros(H, W, CV_8UC1);
  out.person = render_person(s.motion, t, s.look, frame, ids);
  PersonFrame& pf = out.person;
  out.mask = person_mask(ids);  // the whole person, before foreground occluders
  draw_occluder(s.occ, t, frame, ids);
  compute_visibility(ids, pf);

  if (diff.blur_scale > 0 && !prev.empty()) {
    double dx = 0, dy = 0;
    for (int j = 0; j < kNumBodyJoints; ++j) {
      dx += pf.joints[j].x - prev[j].x;
      dy += pf.joints[j].y - prev[j].y;
    }
    motion_blur(frame, out.mask, dx / kNumBodyJoints, dy / kNumBodyJoints, diff.blur_scale);
  }
  prev = pf.joints;
  if (std::abs(s.gain - 1.0) > 1e-6 || std::abs(s.bias) > 1e-6) frame.convertTo(frame, -1, s.gain, s.bias);
  add_noise(frame, diff.noise_sigma, mix(s.noise_seed, static_cast<uint64_t>(t)));
  return out;
}

/// The person box of frame `t` of `r` (whose joints are set): the extent of the
/// rendered silhouette `mask` (penn: plus a small margin).
Box person_box(cv::Mat& mask, const VideoRecord& r, int t, bool penn) {
  const int J = r.num_joints, W = r.width, H = r.height;
  cv::Rect ext = cv::boundingRect(mask);
  Box b;
  if (ext.area() > 0) {
    b = Box{float(ext.x), float(ext.y), float(ext.x + ext.width - 1), float(ext.y + ext.height - 1)};
  } else {  // person entirely outside the image: joints' extent, clipped
    float x1 = 1e9f, y1 = 1e9f, x2 = -1e9f, y2 = -1e9f;
    for (int j = 0; j < J; ++j) {
      const Point2& p = r.joint(t, j);
      x1 = std::min(x1, p.x);
      y1 = std::min(y1, p.y);
      x2 = std::max(x2, p.x);
      y2 = std::max(y2, p.y);
    }
    b = Box{std::clamp(x1, 0.f, W - 1.f), std::clamp(y1, 0.f, H - 1.f), std::clamp(x2, 0.f, W - 1.f),
            std::clamp(y2, 0.f, H - 1.f)};
    if (!penn) {  // jhmdb boxes come from the mask: keep it non-empty
      const int cx = static_cast<int>(std::lround(0.5 * (b.x1 + b.x2)));
      const int cy = static_cast<int>(std::lround(0.5 * (b.y1 + b.y2)));
      mask.at<uint8_t>(cy, cx) = 1;
      b = Box{float(cx), float(cy), float(cx), float(cy)};
    }
  }
  if (penn) {
    const float m = 0.04f * std::max(b.width(), b.height()) + 2.f;
    b = Box{std::max(0.f, b.x1 - m), std::max(0.f, b.y1 - m), std::min(W - 1.f, b.x2 + m), std::min(H - 1.f, b.y2 + m)};
  }
  return b;
}

/// Frame `t`'s path and encoded file as the data set keeps it (penn: JPEG;
/// jhmdb: PNG after a JPEG round trip, and the mask).
void store_frame(SynthVideo& v, cv::Mat& frame, const cv::Mat& mask, const SynthOptions& o, const SynthDifficulty& diff,
                 const std::string& video_name, int t, bool penn) {
  VideoRecord& r = v.record;
  const std::string& action = r.action;
  if (penn) {
    r.frame_paths.push_back(penn_frame_path(o.out, r.id, t));
    v.encoded.push_back(
        encode(frame, ".jpg", {cv::IMWRITE_JPEG_QUALITY, diff.jpeg_quality, cv::IMWRITE_JPEG_OPTIMIZE, 0}, r.id));
  } else {
    r.frame_paths.push_back(jhmdb_frame_path(o.out, action, video_name, t));
    if (diff.jpeg_quality < 95) {  // the real clips were compressed video
      const std::string jpg = encode(frame, ".jpg", {cv::IMWRITE_JPEG_QUALITY, diff.jpeg_quality}, r.id);
      frame = cv::imdecode(cv::Mat(1, static_cast<int>(jpg.size()), CV_8UC1, const_cast<char*>(jpg.data())),
                           cv::IMREAD_COLOR);
    }
    v.encoded.push_back(encode(frame, ".png", {cv::IMWRITE_PNG_COMPRESSION, 1}, r.id));
    v.masks.push_back(mask);
  }
}

}  // namespace

SynthVideo generate_synth_video(const SynthOptions& o, const std::vector<cv::Mat>& photos, int index) {
  const SynthDifficulty diff = synth_difficulty(o.difficulty);
  const auto& names = synth_action_names(o.format);
  const std::string& action = names[static_cast<std::size_t>(index) % names.size()];
  const int occurrence = index / static_cast<int>(names.size());
  SynthRng rng(o.seed, static_cast<uint64_t>(index) + 1);
  const int W = o.width, H = o.height;
  const int T = rng.integer(o.min_frames, o.max_frames);
  const bool penn = writes_penn_layout(o.format);
  const std::vector<int>& jmap = penn ? kPennBodyJoints : kJhmdbBodyJoints;
  const int J = static_cast<int>(jmap.size());

  SynthVideo v;
  VideoRecord& r = v.record;
  r.dataset = name_of(o.format);
  r.action = action;
  r.width = W;
  r.height = H;
  r.num_joints = J;
  std::string video_name;
  if (penn) {
    r.id = pad(index + 1, 4);
    r.train = index % 2 == 0;
  } else {
    video_name = jhmdb_name(rng, action, index);
    r.id = action + "/" + video_name;
    // Test in exactly one of the three splits, rotating with the class so that
    // every split has about a third of the videos (and of each class) as test.
    const int cls = index % static_cast<int>(names.size());
    for (int s = 1; s <= 3; ++s) v.split_train.push_back((occurrence + cls) % 3 != s - 1);
    r.train = v.split_train[0];
  }

  const VideoScene scene = sample_scene(rng, o, diff, photos, action, T, index);
  const Vec3 facing = scene.motion.bodies[T / 2].facing;
  if (penn) {
    v.view = facing.z > 0.7 ? "front" : (facing.z < -0.7 ? "back" : "side");
  } else {
    v.view = facing.z > 0.7 ? "S" : (facing.z < -0.7 ? "N" : (facing.x > 0 ? "E" : "W"));
  }

  r.joints.resize(static_cast<std::size_t>(T) * J);
  r.visible.resize(static_cast<std::size_t>(T) * J);
  r.boxes.resize(T);
  std::vector<Projected> prev;
  for (int t = 0; t < T; ++t) {
    RenderedFrame f = render_frame(scene, diff, t, W, H, prev);
    for (int j = 0; j < J; ++j) {
      const Projected& p = f.person.joints[jmap[j]];
      r.joint(t, j) = Point2{static_cast<float>(p.x), static_cast<float>(p.y)};
      r.visible[static_cast<std::size_t>(t) * J + j] = penn ? f.person.visible[jmap[j]] : 1;
    }
    r.boxes[t] = person_box(f.mask, r, t, penn);
    store_frame(v, f.image, f.mask, o, diff, video_name, t, penn);
  }
  return v;
}

void write_synth_video(const SynthOptions& o, const SynthVideo& v) {
  const VideoRecord& r = v.record;
  for (int t = 0; t < r.num_frames(); ++t) {
    const std::string& path = r.frame_paths[t];
    if (t == 0) {
      std::error_code ec;
      fs::create_directories(fs::path(path).parent_path(), ec);
      if (ec) throw DataError(fs::path(path).parent_path().string(), "cannot create folder: " + ec.message());
    }
    write_file(path, v.encoded[t]);
  }
  switch (o.format) {
    case SynthFormat::penn:
      write_penn_labels(r, penn_label_path(o.out, r.id), v.view);
      break;
    case SynthFormat::jhmdb: {
      const std::string name = jhmdb_video_name(r);
      write_jhmdb_joints(r, jhmdb_joints_path(o.out, r.action, name), v.view);
      write_jhmdb_part_mask(v.masks, jhmdb_mask_path(o.out, r.action, name));
      break;
    }
  }
}

std::vector<VideoRecord> generate_synth_dataset(const SynthOptions& o) {
  validate(o);
  const BackgroundPhotos backgrounds = load_background_photos(o.backgrounds, o.photo_dir);
  for (const auto& d : std::vector<std::string>{"frames", "labels", "Rename_Images", "joint_positions", "puppet_mask",
                                                "sub_splits", kSynthMetaFile}) {
    const fs::path p = fs::path(o.out) / d;
    std::error_code ec;
    if (fs::exists(p, ec)) {
      if (!o.force)
        throw UsageError("--out: '" + o.out + "' already holds a data set (" + p.string() +
                         "); use --force to replace it or choose another folder");
      fs::remove_all(p, ec);
      if (ec) throw Error(p.string() + ": cannot remove: " + ec.message());
    }
  }
  {
    std::error_code ec;
    fs::create_directories(o.out, ec);
    if (ec) throw Error(o.out + ": cannot create folder: " + ec.message());
  }

  std::vector<VideoRecord> records(o.videos);
  std::vector<std::vector<bool>> splits(o.videos);
  std::mutex mu;
  std::unique_ptr<ProgressBar> bar;
  if (o.progress) bar = std::make_unique<ProgressBar>(std::string("synth ") + name_of(o.format), o.videos, "videos");
  parallel_for(static_cast<std::size_t>(o.videos), o.threads, [&](std::size_t i) {
    SynthVideo v = generate_synth_video(o, backgrounds.images, static_cast<int>(i));
    write_synth_video(o, v);
    std::lock_guard<std::mutex> lock(mu);
    splits[i] = v.split_train;
    records[i] = std::move(v.record);
    if (bar) bar->tick();
  });
  if (bar) bar->finish();

  if (!writes_penn_layout(o.format)) {  // numbered split files
    for (int s = 1; s <= 3; ++s) {
      std::vector<VideoRecord> split = records;
      for (int i = 0; i < o.videos; ++i) split[i].train = splits[i][s - 1];
      write_jhmdb_split_files(split, o.out, s);
    }
  }
  write_file_atomic((fs::path(o.out) / kSynthMetaFile).string(), synth_meta_json(o, backgrounds.paths));
  return records;
}

int run_synth(const SynthOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<VideoRecord> records = generate_synth_dataset(o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  long frames = 0;
  int train = 0;
  for (const auto& r : records) {
    frames += r.num_frames();
    train += r.train ? 1 : 0;
  }
  spdlog::info("synth: wrote {} {} videos ({} frames, {} train / {} test{}) to {} in {:.1f} s; backgrounds: {}",
               records.size(), name_of(o.format), frames, train, static_cast<int>(records.size()) - train,
               writes_penn_layout(o.format) ? "" : " in split 1", o.out, secs, o.backgrounds);
  return 0;
}

}  // namespace dkd
