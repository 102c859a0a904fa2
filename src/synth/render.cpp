#include "dkd/synth/render.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "dkd/data/image_io.h"
#include "dkd/util/error.h"

namespace dkd {

namespace {

constexpr int kShift = 4;  // sub-pixel bits for OpenCV drawing
constexpr double kOne = 1 << kShift;

cv::Point fx(double x, double y) {
  return {static_cast<int>(std::lround(x * kOne)), static_cast<int>(std::lround(y * kOne))};
}

cv::Scalar hsv_to_bgr(double h, double s, double v) {
  // h in [0, 360), s, v in [0, 1]
  const double c = v * s;
  const double hp = std::fmod(h, 360.0) / 60.0;
  const double x = c * (1 - std::abs(std::fmod(hp, 2.0) - 1));
  double r = 0, g = 0, b = 0;
  if (hp < 1) {
    r = c;
    g = x;
  } else if (hp < 2) {
    r = x;
    g = c;
  } else if (hp < 3) {
    g = c;
    b = x;
  } else if (hp < 4) {
    g = x;
    b = c;
  } else if (hp < 5) {
    r = x;
    b = c;
  } else {
    r = c;
    b = x;
  }
  const double m = v - c;
  return {255 * (b + m), 255 * (g + m), 255 * (r + m)};
}

cv::Scalar jitter(SynthRng& rng, cv::Scalar c, double amount) {
  for (int i = 0; i < 3; ++i) c[i] = std::clamp(c[i] + rng.normal() * amount, 0.0, 255.0);
  return c;
}

cv::Scalar shade(const cv::Scalar& c, double s) {
  return {std::clamp(c[0] * s, 0.0, 255.0), std::clamp(c[1] * s, 0.0, 255.0), std::clamp(c[2] * s, 0.0, 255.0)};
}

cv::Scalar random_cloth(SynthRng& rng) {
  const int kind = rng.integer(0, 9);
  if (kind == 0) return hsv_to_bgr(0, 0, rng.uniform(0.08, 0.25));                                        // black
  if (kind == 1) return hsv_to_bgr(0, 0, rng.uniform(0.75, 0.95));                                        // white
  if (kind == 2) return hsv_to_bgr(0, 0, rng.uniform(0.35, 0.6));                                         // grey
  if (kind == 3) return hsv_to_bgr(rng.uniform(205, 225), rng.uniform(0.4, 0.7), rng.uniform(0.3, 0.6));  // denim
  return hsv_to_bgr(rng.uniform(0, 360), rng.uniform(0.3, 0.9), rng.uniform(0.3, 0.95));
}

cv::Scalar random_skin(SynthRng& rng) {
  static const double tones[][3] = {{178, 202, 238}, {150, 178, 222}, {115, 145, 196},
                                    {82, 110, 160},  {58, 78, 118},   {170, 190, 225}};
  const auto& t = tones[rng.integer(0, 5)];
  return jitter(rng, cv::Scalar(t[0], t[1], t[2]), 8);
}

void draw_capsule(cv::Mat& image, cv::Mat& ids, const Projected& a, const Projected& b, double ra, double rb,
                  const cv::Scalar& color, uint8_t id) {
  ra = std::max(ra, 0.8);
  rb = std::max(rb, 0.8);
  const double dx = b.x - a.x, dy = b.y - a.y;
  const double len = std::sqrt(dx * dx + dy * dy);
  const cv::Scalar outline = shade(color, 0.55);
  auto shape = [&](cv::Mat& img, const cv::Scalar& c, double grow, int line_type) {
    if (len > 1e-3) {
      const double nx = -dy / len, ny = dx / len;
      const cv::Point pts[4] = {
          fx(a.x + nx * (ra + grow), a.y + ny * (ra + grow)), fx(b.x + nx * (rb + grow), b.y + ny * (rb + grow)),
          fx(b.x - nx * (rb + grow), b.y - ny * (rb + grow)), fx(a.x - nx * (ra + grow), a.y - ny * (ra + grow))};
      cv::fillConvexPoly(img, pts, 4, c, line_type, kShift);
    }
    cv::circle(img, fx(a.x, a.y), static_cast<int>(std::lround((ra + grow) * kOne)), c, cv::FILLED, line_type, kShift);
    cv::circle(img, fx(b.x, b.y), static_cast<int>(std::lround((rb + grow) * kOne)), c, cv::FILLED, line_type, kShift);
  };
  shape(image, outline, 1.0, cv::LINE_AA);
  shape(image, color, 0.0, cv::LINE_AA);
  shape(ids, cv::Scalar(id), 1.0, cv::LINE_8);
}

void draw_hull(cv::Mat& image, cv::Mat& ids, const std::vector<std::pair<Projected, double>>& circles,
               const cv::Scalar& color, uint8_t id, bool outline) {
  std::vector<cv::Point> pts;
  for (const auto& [c, r] : circles)
    for (int k = 0; k < 12; ++k) {
      const double a = k * (2 * 3.14159265358979 / 12);
      pts.push_back(
          fx(c.x + (r + (outline ? 1.0 : 0.0)) * std::cos(a), c.y + (r + (outline ? 1.0 : 0.0)) * std::sin(a)));
    }
  std::vector<cv::Point> hull;
  cv::convexHull(pts, hull);
  if (outline) {
    cv::fillConvexPoly(image, hull, shade(color, 0.55), cv::LINE_AA, kShift);
    cv::fillConvexPoly(ids, hull, cv::Scalar(id), cv::LINE_8, kShift);
    pts.clear();
    for (const auto& [c, r] : circles)
      for (int k = 0; k < 12; ++k) {
        const double a = k * (2 * 3.14159265358979 / 12);
        pts.push_back(fx(c.x + r * std::cos(a), c.y + r * std::sin(a)));
      }
    cv::convexHull(pts, hull);
  }
  cv::fillConvexPoly(image, hull, color, cv::LINE_AA, kShift);
}

struct DrawItem {
  double depth;
  int order;  // tie-break: stable
  uint8_t id;
  std::function<void()> draw;
};

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
  const BodyPose3D& body = motion.bodies.at(t);
  const SynthCamera& cam = motion.cameras.at(t);
  const BodyShape& s = motion.shape;
  std::array<Projected, kNumBodyPoints> q;
  for (int i = 0; i < kNumBodyPoints; ++i) q[i] = project(cam, body.p[i]);
  auto px = [&](double metres, double depth) { return cam.f * metres / depth; };
  const double ref_depth = q[kPelvis].depth;
  auto tone = [&](const cv::Scalar& c, double depth) {
    return shade(c, std::clamp(1.0 + 0.35 * (ref_depth - depth), 0.8, 1.12));
  };

  PersonFrame out;
  std::vector<DrawItem> items;
  int order = 0;
  auto add_item = [&](double depth, uint8_t id, std::function<void()> f) {
    items.push_back({depth, order++, id, std::move(f)});
    if (id != 0) out.part_depth[id] = std::min(out.part_depth[id], depth);
  };
  auto limb = [&](int a, int b, double ra, double rb, const cv::Scalar& color, uint8_t id) {
    const double d = 0.5 * (q[a].depth + q[b].depth);
    add_item(d, id, [&, a, b, ra, rb, color, id, d] {
      draw_capsule(image, ids, q[a], q[b], px(ra, q[a].depth), px(rb, q[b].depth), tone(color, d), id);
    });
  };

  // Torso (shirt) with the pelvis region in trouser colour; head and neck.
  const double torso_depth =
      (q[kNeck].depth + q[kPelvis].depth + q[kLShoulder].depth + q[kRShoulder].depth) / 4.0 - 0.5 * s.r_torso;
  add_item(torso_depth, kPartTorso, [&, torso_depth] {
    const cv::Scalar shirt = tone(look.shirt, torso_depth);
    draw_hull(image, ids,
              {{q[kLShoulder], px(s.r_upper_arm * 1.35, q[kLShoulder].depth)},
               {q[kRShoulder], px(s.r_upper_arm * 1.35, q[kRShoulder].depth)},
               {q[kNeck], px(s.r_neck * 1.6, q[kNeck].depth)},
               {q[kBelly], px(s.r_torso, q[kBelly].depth)},
               {q[kLHip], px(s.r_thigh * 1.1, q[kLHip].depth)},
               {q[kRHip], px(s.r_thigh * 1.1, q[kRHip].depth)}},
              shirt, kPartTorso, true);
    Projected waist;
    waist.x = 0.75 * q[kPelvis].x + 0.25 * q[kBelly].x;
    waist.y = 0.75 * q[kPelvis].y + 0.25 * q[kBelly].y;
    waist.depth = q[kPelvis].depth;
    draw_hull(image, ids,
              {{waist, px(s.r_torso * 0.95, waist.depth)},
               {q[kLHip], px(s.r_thigh * 1.05, q[kLHip].depth)},
               {q[kRHip], px(s.r_thigh * 1.05, q[kRHip].depth)}},
              tone(look.trousers, torso_depth), kPartTorso, false);
    // Stripes and grain on the shirt, aligned with the spine.
    cv::Rect roi(0, 0, 0, 0);
    {
      double x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
      for (int j : {kLShoulder, kRShoulder, kNeck, kLHip, kRHip, kBelly}) {
        x0 = std::min(x0, q[j].x);
        y0 = std::min(y0, q[j].y);
        x1 = std::max(x1, q[j].x);
        y1 = std::max(y1, q[j].y);
      }
      const double m = px(s.r_torso * 2, q[kBelly].depth) + 2;
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
        cv::Vec3b& p = row[x];
        for (int c = 0; c < 3; ++c) p[c] = cv::saturate_cast<uint8_t>(p[c] * g);
      }
    }
  });
  add_item(0.5 * (q[kNeck].depth + q[kHead].depth) + 0.03, kPartNeck, [&] {
    draw_capsule(image, ids, q[kNeck], q[kHead], px(s.r_neck, q[kNeck].depth), px(s.r_neck, q[kHead].depth),
                 tone(look.skin, q[kNeck].depth), kPartNeck);
  });
  add_item(q[kHead].depth, kPartHead, [&] {
    const double r = px(s.head_radius, q[kHead].depth);
    const Vec3 up{0, 1, 0};
    const Vec3& f = body.facing;
    const double hr = s.head_radius;
    const Vec3 hair_c{body.p[kHead].x - f.x * 0.3 * hr + up.x * 0.12 * hr, body.p[kHead].y - f.y * 0.3 * hr + 0.12 * hr,
                      body.p[kHead].z - f.z * 0.3 * hr};
    const Vec3 face_c{body.p[kHead].x + f.x * 0.15 * hr, body.p[kHead].y - 0.05 * hr,
                      body.p[kHead].z + f.z * 0.15 * hr};
    const Projected ph = project(cam, hair_c), pf = project(cam, face_c);
    const cv::Scalar skin = tone(look.skin, q[kHead].depth), hair = tone(look.hair, q[kHead].depth);
    cv::circle(image, fx(q[kHead].x, q[kHead].y), static_cast<int>(std::lround((r + 1) * kOne)), shade(skin, 0.55),
               cv::FILLED, cv::LINE_AA, kShift);
    cv::circle(ids, fx(q[kHead].x, q[kHead].y), static_cast<int>(std::lround((r + 1) * kOne)), cv::Scalar(kPartHead),
               cv::FILLED, cv::LINE_8, kShift);
    auto disc = [&](const Projected& c, double rr, const cv::Scalar& col) {
      cv::circle(image, fx(c.x, c.y), static_cast<int>(std::lround(rr * kOne)), col, cv::FILLED, cv::LINE_AA, kShift);
    };
    if (f.z > 0) {  // face towards the camera: hair behind the face
      disc(ph, r * 0.97, hair);
      disc(pf, r * 0.86, skin);
    } else {
      disc(pf, r * 0.9, skin);
      disc(ph, r * 0.95, hair);
    }
  });

  const cv::Scalar forearm_color = look.long_sleeves ? look.shirt : look.skin;
  const cv::Scalar shin_color = look.shorts ? look.skin : look.trousers;
  for (int side = 0; side < 2; ++side) {
    const bool L = side == 0;
    const int sho = L ? kLShoulder : kRShoulder, elb = L ? kLElbow : kRElbow;
    const int wri = L ? kLWrist : kRWrist, hnd = L ? kLHand : kRHand;
    const int hip = L ? kLHip : kRHip, kne = L ? kLKnee : kRKnee;
    const int ank = L ? kLAnkle : kRAnkle, toe = L ? kLToe : kRToe;
    limb(sho, elb, s.r_upper_arm, s.r_upper_arm * 0.85, look.shirt, L ? kPartLUpperArm : kPartRUpperArm);
    limb(elb, wri, s.r_forearm, s.r_forearm * 0.8, forearm_color, L ? kPartLForearm : kPartRForearm);
    limb(wri, hnd, s.r_forearm * 0.85, s.r_forearm * 0.95, look.skin, L ? kPartLHand : kPartRHand);
    limb(hip, kne, s.r_thigh, s.r_thigh * 0.78, look.trousers, L ? kPartLThigh : kPartRThigh);
    limb(kne, ank, s.r_shin, s.r_shin * 0.7, shin_color, L ? kPartLShin : kPartRShin);
    limb(ank, toe, s.r_shin * 0.6, s.r_shin * 0.55, look.shoes, L ? kPartLFoot : kPartRFoot);
  }

  // Props.
  const std::string& action = motion.action;
  const int main_hand = motion.mirrored ? kLHand : kRHand;
  const int main_wrist = motion.mirrored ? kLWrist : kRWrist;
  auto mid = [](const Vec3& a, const Vec3& b) { return Vec3{(a.x + b.x) / 2, (a.y + b.y) / 2, (a.z + b.z) / 2}; };
  auto along = [](const Vec3& from, const Vec3& dir, double len) {
    const double n = std::sqrt(dir.x * dir.x + dir.y * dir.y + dir.z * dir.z);
    const double k = n > 0 ? len / n : 0;
    return Vec3{from.x + dir.x * k, from.y + dir.y * k, from.z + dir.z * k};
  };
  auto sub = [](const Vec3& a, const Vec3& b) { return Vec3{a.x - b.x, a.y - b.y, a.z - b.z}; };
  if (motion.has_bar) {
    const Vec3 c = mid(body.p[kLHand], body.p[kRHand]);
    const Projected a = project(cam, Vec3{c.x - 4, motion.bar_y, c.z});
    const Projected b = project(cam, Vec3{c.x + 4, motion.bar_y, c.z});
    add_item(q[kNeck].depth + 0.5, kPartProp, [&, a, b] {
      draw_capsule(image, ids, a, b, px(0.02, a.depth), px(0.02, b.depth), cv::Scalar(150, 150, 150), kPartProp);
    });
  }
  if (action == "clean_and_jerk" || action == "bench_press") {
    const Vec3 c = mid(body.p[kLHand], body.p[kRHand]);
    const Vec3 axis = sub(body.p[kLHand], body.p[kRHand]);
    const Vec3 e1 = along(c, axis, 0.75), e2 = along(c, axis, -0.75);
    const Vec3 p1 = along(c, axis, 0.6), p2 = along(c, axis, -0.6);
    const double d = 0.5 * (q[kLHand].depth + q[kRHand].depth) - 0.02;
    add_item(d, kPartProp, [&, e1, e2, p1, p2] {
      const Projected a = project(cam, e1), b = project(cam, e2);
      draw_capsule(image, ids, a, b, px(0.015, a.depth), px(0.015, b.depth), cv::Scalar(170, 170, 175), kPartProp);
      for (const Vec3& p : {p1, p2}) {
        const Projected pp = project(cam, p);
        draw_capsule(image, ids, pp, pp, px(0.2, pp.depth), px(0.2, pp.depth), cv::Scalar(40, 40, 45), kPartProp);
      }
    });
  } else if (action == "golf_swing" || action == "golf" || action == "baseball_swing" || action == "swing_baseball") {
    const bool golf = action.rfind("golf", 0) == 0;
    const Vec3 c = mid(body.p[kLHand], body.p[kRHand]);
    const Vec3 dir = sub(mid(body.p[kLHand], body.p[kRHand]), mid(body.p[kLWrist], body.p[kRWrist]));
    const Vec3 tip = along(c, dir, golf ? 1.0 : 0.85);
    const double d = 0.5 * (q[kLHand].depth + q[kRHand].depth) - 0.03;
    add_item(d, kPartProp, [&, c, tip, golf] {
      const Projected a = project(cam, c), b = project(cam, tip);
      if (golf) {
        draw_capsule(image, ids, a, b, px(0.012, a.depth), px(0.01, b.depth), cv::Scalar(60, 60, 60), kPartProp);
        draw_capsule(image, ids, b, b, px(0.035, b.depth), px(0.035, b.depth), cv::Scalar(180, 180, 180), kPartProp);
      } else {
        draw_capsule(image, ids, a, b, px(0.02, a.depth), px(0.035, b.depth), cv::Scalar(90, 150, 200), kPartProp);
      }
    });
  } else if (action == "tennis_serve" || action == "tennis_forehand") {
    const Vec3 c = body.p[main_hand];
    const Vec3 dir = sub(body.p[main_hand], body.p[main_wrist]);
    const Vec3 neck = along(c, dir, 0.3), head = along(c, dir, 0.5);
    add_item(q[main_hand].depth - 0.03, kPartProp, [&, c, neck, head] {
      const Projected a = project(cam, c), b = project(cam, neck), h = project(cam, head);
      draw_capsule(image, ids, a, b, px(0.015, a.depth), px(0.012, b.depth), cv::Scalar(40, 40, 40), kPartProp);
      draw_capsule(image, ids, h, h, px(0.12, h.depth), px(0.12, h.depth), cv::Scalar(60, 200, 220), kPartProp);
    });
  } else if (action == "bowl" || action == "shoot_ball" || action == "catch") {
    Vec3 c = action == "bowl" ? body.p[main_hand] : mid(body.p[kLHand], body.p[kRHand]);
    const double r = action == "bowl" ? 0.11 : 0.12;
    if (action != "bowl") c = along(c, body.facing, 0.08);
    const cv::Scalar col = action == "bowl" ? cv::Scalar(120, 40, 30) : cv::Scalar(30, 100, 220);
    add_item(project(cam, c).depth - 0.05, kPartProp, [&, c, r, col] {
      const Projected a = project(cam, c);
      draw_capsule(image, ids, a, a, px(r, a.depth), px(r, a.depth), col, kPartProp);
    });
  } else if (action == "strum_guitar") {
    const Vec3 c = along(mid(body.p[kBelly], body.p[kPelvis]), body.facing, 0.14);
    const Vec3 neck_end = body.p[motion.mirrored ? kRHand : kLHand];
    add_item(project(cam, c).depth, kPartProp, [&, c, neck_end] {
      const Projected a = project(cam, c), b = project(cam, neck_end);
      draw_capsule(image, ids, a, b, px(0.025, a.depth), px(0.02, b.depth), cv::Scalar(30, 50, 80), kPartProp);
      draw_capsule(image, ids, a, a, px(0.17, a.depth), px(0.17, a.depth), cv::Scalar(40, 90, 150), kPartProp);
    });
  }

  std::stable_sort(items.begin(), items.end(), [](const DrawItem& a, const DrawItem& b) {
    return a.depth > b.depth;  // far first
  });
  for (const auto& it : items) it.draw();

  out.joints.assign(q.begin(), q.begin() + kNumBodyJoints);
  out.visible.assign(kNumBodyJoints, 1);
  return out;
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

const std::vector<std::string>& background_photo_paths() {
  static const std::vector<std::string> paths = [] {
    std::vector<std::string> out;
    const std::filesystem::path dir = "/usr/share/doc/opencv-doc/examples/data";
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) return out;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      if (e.path().extension() == ".jpg" && e.is_regular_file(ec)) out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }();
  return paths;
}

namespace {

/// Photographs decoded once (shared, read-only after loading). Small or
/// unreadable ones are skipped.
const std::vector<cv::Mat>& background_photos() {
  static std::once_flag once;
  static std::vector<cv::Mat> photos;
  std::call_once(once, [] {
    for (const auto& p : background_photo_paths()) {
      cv::Mat img = try_decode_image(p, nullptr, cv::IMREAD_COLOR);
      if (img.empty() || img.cols < 160 || img.rows < 120) continue;
      photos.push_back(img);
    }
  });
  return photos;
}

void draw_distractor(SynthRng& rng, cv::Mat& canvas, double unit) {
  const bool skin_like = rng.chance(0.4);
  const cv::Scalar c = skin_like ? random_skin(rng) : random_cloth(rng);
  double x = rng.uniform(0, canvas.cols), y = rng.uniform(0, canvas.rows);
  double angle = rng.uniform(0, 6.2831853);
  const int segments = rng.integer(1, 3);
  double r = unit * rng.uniform(0.025, 0.05);
  cv::Mat dummy(canvas.size(), CV_8UC1);
  for (int s = 0; s < segments; ++s) {
    const double len = unit * rng.uniform(0.12, 0.3);
    Projected a, b;
    a.x = x;
    a.y = y;
    b.x = x + std::cos(angle) * len;
    b.y = y + std::sin(angle) * len;
    draw_capsule(canvas, dummy, a, b, r, r * 0.8, c, 1);
    x = b.x;
    y = b.y;
    r *= 0.8;
    angle += rng.uniform(-1.6, 1.6);
  }
}

}  // namespace

cv::Mat make_background(SynthRng& rng, int width, int height, const SynthDifficulty& difficulty) {
  const int cw = width * 2, ch = height * 2;
  cv::Mat canvas(ch, cw, CV_8UC3);
  const auto& photos = background_photos();
  const bool photo = !photos.empty() && rng.chance(difficulty.photo_probability);
  if (photo) {
    const cv::Mat& src = photos[rng.integer(0, static_cast<int>(photos.size()) - 1)];
    const double sc = std::max(double(cw) / src.cols, double(ch) / src.rows) * rng.uniform(1.0, 1.4);
    cv::Mat big;
    cv::resize(src, big, cv::Size(), sc, sc, cv::INTER_LINEAR);
    const int ox = rng.integer(0, std::max(0, big.cols - cw)), oy = rng.integer(0, std::max(0, big.rows - ch));
    big(cv::Rect(ox, oy, cw, ch)).copyTo(canvas);
    if (rng.chance(0.5)) cv::flip(canvas, canvas, 1);
    const double gain = rng.uniform(0.7, 1.1);
    canvas.convertTo(canvas, -1, gain, rng.uniform(-15, 15));
  } else {
    // Wall / sky gradient above a floor, with low-frequency texture.
    const cv::Scalar top = hsv_to_bgr(rng.uniform(0, 360), rng.uniform(0.05, 0.5), rng.uniform(0.4, 0.95));
    const cv::Scalar bottom = jitter(rng, top, 35);
    const cv::Scalar floor_a = hsv_to_bgr(rng.uniform(0, 360), rng.uniform(0.1, 0.6), rng.uniform(0.25, 0.8));
    const cv::Scalar floor_b = jitter(rng, floor_a, 30);
    const int horizon = static_cast<int>(ch * rng.uniform(0.45, 0.7));
    for (int y = 0; y < ch; ++y) {
      cv::Scalar c;
      if (y < horizon) {
        const double a = double(y) / horizon;
        c = top * (1 - a) + bottom * a;
      } else {
        const double a = double(y - horizon) / std::max(1, ch - horizon);
        c = floor_a * (1 - a) + floor_b * a;
      }
      canvas.row(y).setTo(c);
    }
    cv::Mat dummy(canvas.size(), CV_8UC1);
    const int shapes = rng.integer(3, 10);
    for (int i = 0; i < shapes; ++i) {
      const cv::Scalar c = hsv_to_bgr(rng.uniform(0, 360), rng.uniform(0.05, 0.7), rng.uniform(0.15, 0.95));
      const int kind = rng.integer(0, 3);
      const cv::Point p(rng.integer(0, cw), rng.integer(0, horizon + ch / 8));
      const int w = rng.integer(cw / 20, cw / 4), h = rng.integer(ch / 20, ch / 3);
      if (kind == 0) {
        cv::rectangle(canvas, cv::Rect(p.x, p.y, w, h), c, cv::FILLED, cv::LINE_AA);
      } else if (kind == 1) {
        cv::rectangle(canvas, cv::Rect(p.x, p.y, w, h), c, rng.integer(2, 6), cv::LINE_AA);
      } else if (kind == 2) {
        cv::ellipse(canvas, p, cv::Size(w / 2, h / 2), rng.uniform(0, 180), 0, 360, c, cv::FILLED, cv::LINE_AA);
      } else {
        cv::line(canvas, cv::Point(rng.integer(0, cw), rng.integer(horizon, ch)),
                 cv::Point(rng.integer(0, cw), rng.integer(horizon, ch)), c, rng.integer(1, 4), cv::LINE_AA);
      }
    }
    // Floor tiles or stripes.
    if (rng.chance(0.4)) {
      const cv::Scalar c = jitter(rng, floor_a, 40);
      const int step = rng.integer(20, 60);
      for (int x = -ch; x < cw + ch; x += step)
        cv::line(canvas, cv::Point(x, ch), cv::Point(cw / 2 + (x - cw / 2) / 3, horizon), c, 1, cv::LINE_AA);
    }
    // Texture: smoothed noise.
    const int gh = std::max(2, ch / rng.integer(8, 32)), gw = std::max(2, cw * gh / ch);
    cv::Mat noise(gh, gw, CV_32FC3);
    for (int y = 0; y < gh; ++y)
      for (int x = 0; x < gw; ++x)
        noise.at<cv::Vec3f>(y, x) = cv::Vec3f(float(rng.normal()), float(rng.normal()), float(rng.normal()));
    cv::resize(noise, noise, canvas.size(), 0, 0, cv::INTER_CUBIC);
    cv::Mat f;
    canvas.convertTo(f, CV_32FC3);
    f += noise * rng.uniform(4, 18);
    f.convertTo(canvas, CV_8UC3);
  }
  const int n = rng.integer(difficulty.distractors_min, difficulty.distractors_max);
  for (int i = 0; i < n; ++i) draw_distractor(rng, canvas, height);
  return canvas;
}

void background_view(const cv::Mat& canvas, double zoom, double shift_x, double shift_y, cv::Mat& frame) {
  const double iz = 1.0 / std::max(0.1, zoom);
  const double ccx = canvas.cols / 2.0, ccy = canvas.rows / 2.0;
  const double fcx = frame.cols / 2.0, fcy = frame.rows / 2.0;
  cv::Mat M = (cv::Mat_<double>(2, 3) << iz, 0, ccx - fcx * iz + shift_x, 0, iz, ccy - fcy * iz + shift_y);
  cv::warpAffine(canvas, frame, M, frame.size(), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_REFLECT_101);
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
  cv::line(kernel, fx(c - ux * len / 2, c - uy * len / 2), fx(c + ux * len / 2, c + uy * len / 2), cv::Scalar(1.0), 1,
           cv::LINE_AA, kShift);
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
