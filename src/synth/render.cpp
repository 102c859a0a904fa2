#include "dkd/synth/render.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <utility>

#include <opencv2/imgproc.hpp>

#include "dkd/synth/draw.h"
#include "dkd/util/error.h"

namespace dkd {

namespace {

void draw_hull(cv::Mat& image, cv::Mat& ids, const std::vector<std::pair<Projected, double>>& circles,
               const cv::Scalar& color, uint8_t id, bool outline) {
  std::vector<cv::Point> pts;
  for (const auto& [c, r] : circles)
    for (int k = 0; k < 12; ++k) {
      const double a = k * (2 * 3.14159265358979 / 12);
      pts.push_back(subpixel_point(c.x + (r + (outline ? 1.0 : 0.0)) * std::cos(a),
                                   c.y + (r + (outline ? 1.0 : 0.0)) * std::sin(a)));
    }
  std::vector<cv::Point> hull;
  cv::convexHull(pts, hull);
  if (outline) {
    cv::fillConvexPoly(image, hull, shade(color, 0.55), cv::LINE_AA, kSubpixelBits);
    cv::fillConvexPoly(ids, hull, cv::Scalar(id), cv::LINE_8, kSubpixelBits);
    pts.clear();
    for (const auto& [c, r] : circles)
      for (int k = 0; k < 12; ++k) {
        const double a = k * (2 * 3.14159265358979 / 12);
        pts.push_back(subpixel_point(c.x + r * std::cos(a), c.y + r * std::sin(a)));
      }
    cv::convexHull(pts, hull);
  }
  cv::fillConvexPoly(image, hull, color, cv::LINE_AA, kSubpixelBits);
}

struct DrawItem {
  double depth;
  int order;  // tie-break: stable
  uint8_t id;
  std::function<void()> draw;
};

/// The person of one frame while it is drawn: its projected body points and
/// the parts queued with their depths, which draw_all paints back to front.
struct PersonPainter {
  PersonPainter(const SynthMotion& motion, int t, const Appearance& look, cv::Mat& image, cv::Mat& ids)
      : motion(motion),
        body(motion.bodies.at(t)),
        cam(motion.cameras.at(t)),
        s(motion.shape),
        look(look),
        image(image),
        ids(ids) {
    for (int i = 0; i < kNumBodyPoints; ++i) q[i] = project(cam, body.p[i]);
    ref_depth = q[kPelvis].depth;
  }

  /// `metres` at `depth` in pixels.
  double px(double metres, double depth) const { return cam.f * metres / depth; }

  /// `c` shaded by depth: parts nearer than the pelvis lighter, farther ones darker.
  cv::Scalar tone(const cv::Scalar& c, double depth) const {
    return shade(c, std::clamp(1.0 + 0.35 * (ref_depth - depth), 0.8, 1.12));
  }

  /// Queues `draw` at `depth`; a part id (not 0) also records the part's nearest depth.
  void add(double depth, uint8_t id, std::function<void()> draw) {
    items.push_back({depth, order++, id, std::move(draw)});
    if (id != 0) out.part_depth[id] = std::min(out.part_depth[id], depth);
  }

  /// A tapered limb between body points `a` and `b` (radii in metres).
  void limb(int a, int b, double ra, double rb, const cv::Scalar& color, uint8_t id) {
    const double d = 0.5 * (q[a].depth + q[b].depth);
    add(d, id, [this, a, b, ra, rb, color, id, d] {
      draw_capsule(image, ids, q[a], q[b], px(ra, q[a].depth), px(rb, q[b].depth), tone(color, d), id);
    });
  }

  /// Paints the queued parts, far first (queue order among equal depths).
  void draw_all() {
    std::stable_sort(items.begin(), items.end(), [](const DrawItem& a, const DrawItem& b) {
      return a.depth > b.depth;  // far first
    });
    for (const auto& it : items) it.draw();
  }

  const SynthMotion& motion;
  const BodyPose3D& body;
  const SynthCamera& cam;
  const BodyShape& s;
  const Appearance& look;
  cv::Mat& image;
  cv::Mat& ids;
  std::array<Projected, kNumBodyPoints> q;
  double ref_depth = 0;
  PersonFrame out;
  std::vector<DrawItem> items;
  int order = 0;
};

/// Stripes and fabric grain on the shirt: every torso pixel of the id map above
/// the trousers, in coordinates along and across the spine.
void texture_shirt(PersonPainter& p) {
  const auto& q = p.q;
  const Appearance& look = p.look;
  cv::Mat& image = p.image;
  const cv::Mat& ids = p.ids;
  cv::Rect roi(0, 0, 0, 0);
  {
    double x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
    for (int j : {kLShoulder, kRShoulder, kNeck, kLHip, kRHip, kBelly}) {
      x0 = std::min(x0, q[j].x);
      y0 = std::min(y0, q[j].y);
      x1 = std::max(x1, q[j].x);
      y1 = std::max(y1, q[j].y);
    }
    const double m = p.px(p.s.r_torso * 2, q[kBelly].depth) + 2;
    roi = cv::Rect(cv::Point(static_cast<int>(x0 - m), static_cast<int>(y0 - m)),
                   cv::Point(static_cast<int>(x1 + m) + 1, static_cast<int>(y1 + m) + 1)) &
          cv::Rect(0, 0, image.cols, image.rows);
  }
  const double ax = q[kNeck].x - q[kPelvis].x, ay = q[kNeck].y - q[kPelvis].y;
  const double alen = std::max(1e-6, std::sqrt(ax * ax + ay * ay));
  const double ux = ax / alen, uy = ay / alen;
  const double spine_px = alen;
  const double period = look.stripe_period * std::max(0.4, spine_px / 60.0);
  for (int y = roi.y; y < roi.y + roi.height; ++y) {
    const uint8_t* idr = ids.ptr<uint8_t>(y);
    cv::Vec3b* row = image.ptr<cv::Vec3b>(y);
    for (int x = roi.x; x < roi.x + roi.width; ++x) {
      if (idr[x] != kPartTorso) continue;
      const double v = (x - q[kPelvis].x) * ux + (y - q[kPelvis].y) * uy;  // along the spine
      const double w = -(x - q[kPelvis].x) * uy + (y - q[kPelvis].y) * ux;
      if (v < 0.3 * spine_px) continue;  // trousers region: grain only below
      double g = 1.0;
      if (look.stripe_period > 0) g += look.stripe_strength * (std::sin(6.2831853 * v / period) > 0 ? 1 : -1) * 0.5;
      const int tx = static_cast<int>(std::floor(w * 0.8)) & 63, ty = static_cast<int>(std::floor(v * 0.8)) & 63;
      g += look.grain * look.grain_texture.at<float>(ty, tx);
      cv::Vec3b& pixel = row[x];
      for (int c = 0; c < 3; ++c) pixel[c] = cv::saturate_cast<uint8_t>(pixel[c] * g);
    }
  }
}

/// The torso at `depth`: the shirt hull (shoulders, neck, belly, hips), the
/// pelvis region in trouser colour, then the shirt's texture.
void draw_torso(PersonPainter& p, double depth) {
  const auto& q = p.q;
  const BodyShape& s = p.s;
  const cv::Scalar shirt = p.tone(p.look.shirt, depth);
  draw_hull(p.image, p.ids,
            {{q[kLShoulder], p.px(s.r_upper_arm * 1.35, q[kLShoulder].depth)},
             {q[kRShoulder], p.px(s.r_upper_arm * 1.35, q[kRShoulder].depth)},
             {q[kNeck], p.px(s.r_neck * 1.6, q[kNeck].depth)},
             {q[kBelly], p.px(s.r_torso, q[kBelly].depth)},
             {q[kLHip], p.px(s.r_thigh * 1.1, q[kLHip].depth)},
             {q[kRHip], p.px(s.r_thigh * 1.1, q[kRHip].depth)}},
            shirt, kPartTorso, true);
  Projected waist;
  waist.x = 0.75 * q[kPelvis].x + 0.25 * q[kBelly].x;
  waist.y = 0.75 * q[kPelvis].y + 0.25 * q[kBelly].y;
  waist.depth = q[kPelvis].depth;
  draw_hull(p.image, p.ids,
            {{waist, p.px(s.r_torso * 0.95, waist.depth)},
             {q[kLHip], p.px(s.r_thigh * 1.05, q[kLHip].depth)},
             {q[kRHip], p.px(s.r_thigh * 1.05, q[kRHip].depth)}},
            p.tone(p.look.trousers, depth), kPartTorso, false);
  texture_shirt(p);
}

/// The head: a skin disc with its outline (and its id), then face and hair
/// discs shifted along the facing direction, hair behind the face when the
/// person faces the camera.
void draw_head(PersonPainter& p) {
  const auto& q = p.q;
  const BodyPose3D& body = p.body;
  const double r = p.px(p.s.head_radius, q[kHead].depth);
  const Vec3 up{0, 1, 0};
  const Vec3& f = body.facing;
  const double hr = p.s.head_radius;
  const Vec3 hair_c{body.p[kHead].x - f.x * 0.3 * hr + up.x * 0.12 * hr, body.p[kHead].y - f.y * 0.3 * hr + 0.12 * hr,
                    body.p[kHead].z - f.z * 0.3 * hr};
  const Vec3 face_c{body.p[kHead].x + f.x * 0.15 * hr, body.p[kHead].y - 0.05 * hr, body.p[kHead].z + f.z * 0.15 * hr};
  const Projected ph = project(p.cam, hair_c), pf = project(p.cam, face_c);
  const cv::Scalar skin = p.tone(p.look.skin, q[kHead].depth), hair = p.tone(p.look.hair, q[kHead].depth);
  cv::circle(p.image, subpixel_point(q[kHead].x, q[kHead].y), static_cast<int>(std::lround((r + 1) * kSubpixelOne)),
             shade(skin, 0.55), cv::FILLED, cv::LINE_AA, kSubpixelBits);
  cv::circle(p.ids, subpixel_point(q[kHead].x, q[kHead].y), static_cast<int>(std::lround((r + 1) * kSubpixelOne)),
             cv::Scalar(kPartHead), cv::FILLED, cv::LINE_8, kSubpixelBits);
  auto disc = [&](const Projected& c, double rr, const cv::Scalar& col) {
    cv::circle(p.image, subpixel_point(c.x, c.y), static_cast<int>(std::lround(rr * kSubpixelOne)), col, cv::FILLED,
               cv::LINE_AA, kSubpixelBits);
  };
  if (f.z > 0) {  // face towards the camera: hair behind the face
    disc(ph, r * 0.97, hair);
    disc(pf, r * 0.86, skin);
  } else {
    disc(pf, r * 0.9, skin);
    disc(ph, r * 0.95, hair);
  }
}

/// Torso (shirt) with the pelvis region in trouser colour; neck and head.
void add_torso_and_head(PersonPainter& p) {
  const auto& q = p.q;
  const double torso_depth =
      (q[kNeck].depth + q[kPelvis].depth + q[kLShoulder].depth + q[kRShoulder].depth) / 4.0 - 0.5 * p.s.r_torso;
  p.add(torso_depth, kPartTorso, [&p, torso_depth] { draw_torso(p, torso_depth); });
  p.add(0.5 * (q[kNeck].depth + q[kHead].depth) + 0.03, kPartNeck, [&p] {
    const auto& q = p.q;
    draw_capsule(p.image, p.ids, q[kNeck], q[kHead], p.px(p.s.r_neck, q[kNeck].depth), p.px(p.s.r_neck, q[kHead].depth),
                 p.tone(p.look.skin, q[kNeck].depth), kPartNeck);
  });
  p.add(q[kHead].depth, kPartHead, [&p] { draw_head(p); });
}

/// Arms (upper arm in the shirt colour, forearm in the shirt or skin colour,
/// hand) and legs (thigh, shin in trouser or skin colour, foot), left then right.
void add_limbs(PersonPainter& p) {
  const BodyShape& s = p.s;
  const Appearance& look = p.look;
  const cv::Scalar forearm_color = look.long_sleeves ? look.shirt : look.skin;
  const cv::Scalar shin_color = look.shorts ? look.skin : look.trousers;
  for (int side = 0; side < 2; ++side) {
    const bool L = side == 0;
    const int sho = L ? kLShoulder : kRShoulder, elb = L ? kLElbow : kRElbow;
    const int wri = L ? kLWrist : kRWrist, hnd = L ? kLHand : kRHand;
    const int hip = L ? kLHip : kRHip, kne = L ? kLKnee : kRKnee;
    const int ank = L ? kLAnkle : kRAnkle, toe = L ? kLToe : kRToe;
    p.limb(sho, elb, s.r_upper_arm, s.r_upper_arm * 0.85, look.shirt, L ? kPartLUpperArm : kPartRUpperArm);
    p.limb(elb, wri, s.r_forearm, s.r_forearm * 0.8, forearm_color, L ? kPartLForearm : kPartRForearm);
    p.limb(wri, hnd, s.r_forearm * 0.85, s.r_forearm * 0.95, look.skin, L ? kPartLHand : kPartRHand);
    p.limb(hip, kne, s.r_thigh, s.r_thigh * 0.78, look.trousers, L ? kPartLThigh : kPartRThigh);
    p.limb(kne, ank, s.r_shin, s.r_shin * 0.7, shin_color, L ? kPartLShin : kPartRShin);
    p.limb(ank, toe, s.r_shin * 0.6, s.r_shin * 0.55, look.shoes, L ? kPartLFoot : kPartRFoot);
  }
}

Vec3 midpoint(const Vec3& a, const Vec3& b) { return Vec3{(a.x + b.x) / 2, (a.y + b.y) / 2, (a.z + b.z) / 2}; }

/// The point `len` metres from `from` along `dir` (`from` itself when dir is 0).
Vec3 along(const Vec3& from, const Vec3& dir, double len) {
  const double n = std::sqrt(dir.x * dir.x + dir.y * dir.y + dir.z * dir.z);
  const double k = n > 0 ? len / n : 0;
  return Vec3{from.x + dir.x * k, from.y + dir.y * k, from.z + dir.z * k};
}

Vec3 minus(const Vec3& a, const Vec3& b) { return Vec3{a.x - b.x, a.y - b.y, a.z - b.z}; }

/// A capsule between two 3D points, projected when drawn (radii in metres).
void draw_prop_capsule(PersonPainter& p, const Vec3& from, const Vec3& to, double r_from, double r_to,
                       const cv::Scalar& color) {
  const Projected a = project(p.cam, from), b = project(p.cam, to);
  draw_capsule(p.image, p.ids, a, b, p.px(r_from, a.depth), p.px(r_to, b.depth), color, kPartProp);
}

/// Held objects of the action (pull-up bar, barbell, club or bat, racket,
/// ball, guitar), drawn as capsules with the prop id.
void add_props(PersonPainter& p) {
  const SynthMotion& motion = p.motion;
  const BodyPose3D& body = p.body;
  const auto& q = p.q;
  const std::string& action = motion.action;
  const int main_hand = motion.mirrored ? kLHand : kRHand;
  const int main_wrist = motion.mirrored ? kLWrist : kRWrist;
  if (motion.has_bar) {
    const Vec3 c = midpoint(body.p[kLHand], body.p[kRHand]);
    const Projected a = project(p.cam, Vec3{c.x - 4, motion.bar_y, c.z});
    const Projected b = project(p.cam, Vec3{c.x + 4, motion.bar_y, c.z});
    p.add(q[kNeck].depth + 0.5, kPartProp, [&p, a, b] {
      draw_capsule(p.image, p.ids, a, b, p.px(0.02, a.depth), p.px(0.02, b.depth), cv::Scalar(150, 150, 150),
                   kPartProp);
    });
  }
  if (action == "clean_and_jerk" || action == "bench_press") {
    const Vec3 c = midpoint(body.p[kLHand], body.p[kRHand]);
    const Vec3 axis = minus(body.p[kLHand], body.p[kRHand]);
    const Vec3 e1 = along(c, axis, 0.75), e2 = along(c, axis, -0.75);
    const Vec3 p1 = along(c, axis, 0.6), p2 = along(c, axis, -0.6);
    const double d = 0.5 * (q[kLHand].depth + q[kRHand].depth) - 0.02;
    p.add(d, kPartProp, [&p, e1, e2, p1, p2] {
      draw_prop_capsule(p, e1, e2, 0.015, 0.015, cv::Scalar(170, 170, 175));
      for (const Vec3& plate : {p1, p2}) draw_prop_capsule(p, plate, plate, 0.2, 0.2, cv::Scalar(40, 40, 45));
    });
  } else if (action == "golf_swing" || action == "golf" || action == "baseball_swing" || action == "swing_baseball") {
    const bool golf = action.rfind("golf", 0) == 0;
    const Vec3 c = midpoint(body.p[kLHand], body.p[kRHand]);
    const Vec3 dir = minus(midpoint(body.p[kLHand], body.p[kRHand]), midpoint(body.p[kLWrist], body.p[kRWrist]));
    const Vec3 tip = along(c, dir, golf ? 1.0 : 0.85);
    const double d = 0.5 * (q[kLHand].depth + q[kRHand].depth) - 0.03;
    p.add(d, kPartProp, [&p, c, tip, golf] {
      if (golf) {
        draw_prop_capsule(p, c, tip, 0.012, 0.01, cv::Scalar(60, 60, 60));
        draw_prop_capsule(p, tip, tip, 0.035, 0.035, cv::Scalar(180, 180, 180));
      } else {
        draw_prop_capsule(p, c, tip, 0.02, 0.035, cv::Scalar(90, 150, 200));
      }
    });
  } else if (action == "tennis_serve" || action == "tennis_forehand") {
    const Vec3 c = body.p[main_hand];
    const Vec3 dir = minus(body.p[main_hand], body.p[main_wrist]);
    const Vec3 neck = along(c, dir, 0.3), head = along(c, dir, 0.5);
    p.add(q[main_hand].depth - 0.03, kPartProp, [&p, c, neck, head] {
      draw_prop_capsule(p, c, neck, 0.015, 0.012, cv::Scalar(40, 40, 40));
      draw_prop_capsule(p, head, head, 0.12, 0.12, cv::Scalar(60, 200, 220));
    });
  } else if (action == "bowl" || action == "shoot_ball" || action == "catch") {
    Vec3 c = action == "bowl" ? body.p[main_hand] : midpoint(body.p[kLHand], body.p[kRHand]);
    const double r = action == "bowl" ? 0.11 : 0.12;
    if (action != "bowl") c = along(c, body.facing, 0.08);
    const cv::Scalar col = action == "bowl" ? cv::Scalar(120, 40, 30) : cv::Scalar(30, 100, 220);
    p.add(project(p.cam, c).depth - 0.05, kPartProp, [&p, c, r, col] { draw_prop_capsule(p, c, c, r, r, col); });
  } else if (action == "strum_guitar") {
    const Vec3 c = along(midpoint(body.p[kBelly], body.p[kPelvis]), body.facing, 0.14);
    const Vec3 neck_end = body.p[motion.mirrored ? kRHand : kLHand];
    p.add(project(p.cam, c).depth, kPartProp, [&p, c, neck_end] {
      draw_prop_capsule(p, c, neck_end, 0.025, 0.02, cv::Scalar(30, 50, 80));
      draw_prop_capsule(p, c, c, 0.17, 0.17, cv::Scalar(40, 90, 150));
    });
  }
}

}  // namespace

Appearance sample_appearance(SynthRng& rng) {
  Appearance a;
  a.skin = random_skin(rng);
  a.shirt = random_cloth(rng);
  a.trousers = random_cloth(rng);
  {
    const int h = rng.integer(0, 4);
    static const double hair[][3] = {{20, 22, 25}, {30, 45, 70}, {40, 70, 110}, {90, 150, 190}, {120, 120, 125}};
    a.hair = jitter(rng, cv::Scalar(hair[h][0], hair[h][1], hair[h][2]), 6);
  }
  a.shoes = rng.chance(0.5) ? hsv_to_bgr(0, 0, rng.uniform(0.05, 0.25))
                            : hsv_to_bgr(rng.uniform(0, 360), rng.uniform(0, 0.3), rng.uniform(0.6, 0.95));
  a.long_sleeves = rng.chance(0.5);
  a.shorts = rng.chance(0.3);
  if (rng.chance(0.45)) {
    a.stripe_period = rng.uniform(5, 14);
    a.stripe_strength = rng.uniform(0.12, 0.35);
  }
  a.grain = rng.uniform(0.03, 0.1);
  cv::Mat small(16, 16, CV_32F);
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x) small.at<float>(y, x) = static_cast<float>(rng.normal());
  cv::resize(small, a.grain_texture, cv::Size(64, 64), 0, 0, cv::INTER_LINEAR);
  cv::Mat fine(64, 64, CV_32F);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) fine.at<float>(y, x) = static_cast<float>(rng.normal());
  a.grain_texture = 0.6 * a.grain_texture + 0.4 * fine;
  return a;
}

bool part_touches_joint(int part, int joint) {
  switch (part) {
    case kPartTorso:
      return joint == kPelvis || joint == kBelly || joint == kNeck || joint == kLShoulder || joint == kRShoulder ||
             joint == kLHip || joint == kRHip;
    case kPartNeck:
      return joint == kNeck || joint == kHead;
    case kPartHead:
      return joint == kHead;
    case kPartLUpperArm:
      return joint == kLShoulder || joint == kLElbow;
    case kPartRUpperArm:
      return joint == kRShoulder || joint == kRElbow;
    case kPartLForearm:
      return joint == kLElbow || joint == kLWrist;
    case kPartRForearm:
      return joint == kRElbow || joint == kRWrist;
    case kPartLHand:
      return joint == kLWrist;
    case kPartRHand:
      return joint == kRWrist;
    case kPartLThigh:
      return joint == kLHip || joint == kLKnee;
    case kPartRThigh:
      return joint == kRHip || joint == kRKnee;
    case kPartLShin:
      return joint == kLKnee || joint == kLAnkle;
    case kPartRShin:
      return joint == kRKnee || joint == kRAnkle;
    case kPartLFoot:
      return joint == kLAnkle;
    case kPartRFoot:
      return joint == kRAnkle;
    case kPartProp:
      return joint == kLWrist || joint == kRWrist;
    default:
      return false;
  }
}

PersonFrame render_person(const SynthMotion& motion, int t, const Appearance& look, cv::Mat& image, cv::Mat& ids) {
  PersonPainter p(motion, t, look, image, ids);
  add_torso_and_head(p);
  add_limbs(p);
  add_props(p);
  p.draw_all();
  p.out.joints.assign(p.q.begin(), p.q.begin() + kNumBodyJoints);
  p.out.visible.assign(kNumBodyJoints, 1);
  return p.out;
}

void compute_visibility(const cv::Mat& ids, PersonFrame& frame) {
  const int n = static_cast<int>(frame.joints.size());
  frame.visible.assign(n, 1);
  for (int j = 0; j < n; ++j) {
    const Projected& p = frame.joints[j];
    const int x = static_cast<int>(std::floor(p.x)), y = static_cast<int>(std::floor(p.y));
    if (x < 0 || y < 0 || x >= ids.cols || y >= ids.rows) {
      frame.visible[j] = 0;
      continue;
    }
    const uint8_t id = ids.at<uint8_t>(y, x);
    if (id == kPartNone || part_touches_joint(id, j)) continue;
    if (id == kPartOccluder || frame.part_depth[id] < p.depth) frame.visible[j] = 0;
  }
}

cv::Mat person_mask(const cv::Mat& ids) {
  cv::Mat lo, hi;
  cv::compare(ids, cv::Scalar(kPartNone), lo, cv::CMP_GT);
  cv::compare(ids, cv::Scalar(kPartRFoot), hi, cv::CMP_LE);
  cv::Mat m = lo & hi;
  m /= 255;
  return m;
}

SynthDifficulty synth_difficulty(const std::string& name) {
  SynthDifficulty d;
  d.name = name;
  if (name == "easy") {
    d.distractors_min = 0;
    d.distractors_max = 2;
    d.photo_probability = 0.3;
    d.blur_scale = 0.0;
    d.noise_sigma = 1.0;
    d.jpeg_quality = 95;
    d.occluder_probability = 0.0;
    d.motion_scale = 0.5;
    d.lighting = 0.05;
  } else if (name == "standard") {
    // defaults
  } else if (name == "hard") {
    d.distractors_min = 5;
    d.distractors_max = 12;
    d.photo_probability = 0.6;
    d.blur_scale = 0.9;
    d.noise_sigma = 6.0;
    d.jpeg_quality = 75;
    d.occluder_probability = 0.6;
    d.motion_scale = 1.6;
    d.lighting = 0.2;
  } else {
    throw UsageError("unknown difficulty '" + name + "' (expected easy, standard or hard)");
  }
  return d;
}

Occluder sample_occluder(SynthRng& rng, int frames, int width, int height, double person_x, double person_y,
                         double person_h, double probability) {
  Occluder o;
  if (!rng.chance(probability) || frames < 6) return o;
  o.active = true;
  const int len = rng.integer(4, std::min(12, frames - 1));
  o.first = rng.integer(0, frames - len);
  o.last = o.first + len - 1;
  o.kind = rng.integer(0, 2);
  const double dir = rng.chance(0.5) ? 1 : -1;
  const double sweep = rng.uniform(0.2, 0.5) * width;
  o.x0 = person_x - dir * sweep / 2;
  o.x1 = person_x + dir * sweep / 2;
  o.y = person_y + rng.uniform(-0.2, 0.3) * person_h;
  o.w = rng.uniform(0.06, 0.25) * width;
  o.h = rng.uniform(0.3, 0.7) * person_h;
  o.color = hsv_to_bgr(rng.uniform(0, 360), rng.uniform(0.1, 0.8), rng.uniform(0.2, 0.9));
  return o;
}

void draw_occluder(const Occluder& o, int t, cv::Mat& image, cv::Mat& ids) {
  if (!o.active || t < o.first || t > o.last) return;
  const double a = o.last > o.first ? double(t - o.first) / (o.last - o.first) : 0.0;
  const double x = o.x0 + (o.x1 - o.x0) * a;
  auto draw = [&](cv::Mat& img, const cv::Scalar& c, int lt) {
    if (o.kind == 0) {
      cv::rectangle(img, cv::Rect(static_cast<int>(x - o.w / 4), 0, std::max(2, static_cast<int>(o.w / 2)), img.rows),
                    c, cv::FILLED, lt);
    } else if (o.kind == 1) {
      cv::rectangle(img,
                    cv::Rect(static_cast<int>(x - o.w / 2), static_cast<int>(o.y), static_cast<int>(o.w), img.rows), c,
                    cv::FILLED, lt);
    } else {
      cv::ellipse(img, cv::Point(static_cast<int>(x), static_cast<int>(o.y)),
                  cv::Size(static_cast<int>(o.w / 2), static_cast<int>(o.h / 2)), 0, 0, 360, c, cv::FILLED, lt);
    }
  };
  draw(image, o.color, cv::LINE_AA);
  draw(ids, cv::Scalar(kPartOccluder), cv::LINE_8);
}

void motion_blur(cv::Mat& image, const cv::Mat& mask, double dx, double dy, double scale) {
  const double len = std::min(13.0, std::sqrt(dx * dx + dy * dy) * scale);
  if (len < 1.5) return;
  const cv::Rect box = cv::boundingRect(mask);
  if (box.empty()) return;
  const int k = (static_cast<int>(std::ceil(len)) | 1);
  cv::Mat kernel = cv::Mat::zeros(k, k, CV_32F);
  const double ux = dx / std::sqrt(dx * dx + dy * dy), uy = dy / std::sqrt(dx * dx + dy * dy);
  const double c = (k - 1) / 2.0;
  cv::line(kernel, subpixel_point(c - ux * len / 2, c - uy * len / 2),
           subpixel_point(c + ux * len / 2, c + uy * len / 2), cv::Scalar(1.0), 1, cv::LINE_AA, kSubpixelBits);
  const double sum = cv::sum(kernel)[0];
  if (sum <= 0) return;
  kernel /= sum;
  const cv::Rect roi =
      cv::Rect(box.x - k, box.y - k, box.width + 2 * k, box.height + 2 * k) & cv::Rect(0, 0, image.cols, image.rows);
  cv::Mat blurred;
  cv::filter2D(image(roi), blurred, -1, kernel, cv::Point(-1, -1), 0, cv::BORDER_REFLECT_101);
  cv::Mat m;
  cv::dilate(mask(roi), m, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(k, k)));
  blurred.copyTo(image(roi), m);
}

void add_noise(cv::Mat& image, double sigma, uint64_t seed) {
  if (sigma <= 0) return;
  cv::RNG rng(seed);
  cv::Mat n(image.size(), CV_16SC3);
  rng.fill(n, cv::RNG::NORMAL, 0, sigma);
  cv::Mat out;
  cv::add(image, n, out, cv::noArray(), CV_8UC3);
  image = out;
}

}  // namespace dkd
