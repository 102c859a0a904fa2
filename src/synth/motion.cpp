#include "dkd/synth/motion.h"

#include <algorithm>
#include <cmath>

#include "dkd/synth/actions.h"

namespace dkd {

// ---------------------------------------------------------------------------
// RNG

namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

constexpr double kPi = 3.14159265358979323846;
constexpr double kDeg = kPi / 180.0;

}  // namespace

SynthRng::SynthRng(uint64_t seed, uint64_t stream) {
  uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ULL + 0x2545F4914F6CDD1DULL);
  for (auto& s : s_) s = splitmix64(x);
}

uint64_t SynthRng::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double SynthRng::uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }

int SynthRng::integer(int lo, int hi) {
  if (hi <= lo) return lo;
  const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
  return lo + static_cast<int>(next() % span);
}

double SynthRng::normal() {
  double u1 = uniform();
  if (u1 < 1e-300) u1 = 1e-300;
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
}

// ---------------------------------------------------------------------------
// Geometry

namespace {

struct Mat3 {
  double m[3][3];
  static Mat3 identity() { return {{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}}; }
  Mat3 operator*(const Mat3& o) const {
    Mat3 r{};
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) r.m[i][j] = m[i][0] * o.m[0][j] + m[i][1] * o.m[1][j] + m[i][2] * o.m[2][j];
    return r;
  }
  Vec3 operator*(const Vec3& v) const {
    return {m[0][0] * v.x + m[0][1] * v.y + m[0][2] * v.z, m[1][0] * v.x + m[1][1] * v.y + m[1][2] * v.z,
            m[2][0] * v.x + m[2][1] * v.y + m[2][2] * v.z};
  }
};

Mat3 rot_x(double deg) {
  const double c = std::cos(deg * kDeg), s = std::sin(deg * kDeg);
  return {{{1, 0, 0}, {0, c, -s}, {0, s, c}}};
}
Mat3 rot_y(double deg) {
  const double c = std::cos(deg * kDeg), s = std::sin(deg * kDeg);
  return {{{c, 0, s}, {0, 1, 0}, {-s, 0, c}}};
}
Mat3 rot_z(double deg) {
  const double c = std::cos(deg * kDeg), s = std::sin(deg * kDeg);
  return {{{c, -s, 0}, {s, c, 0}, {0, 0, 1}}};
}

Vec3 add(const Vec3& a, const Vec3& b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
Vec3 scale(const Vec3& a, double s) { return {a.x * s, a.y * s, a.z * s}; }
Vec3 normalized(const Vec3& a) {
  const double n = std::sqrt(a.x * a.x + a.y * a.y + a.z * a.z);
  return n > 0 ? scale(a, 1.0 / n) : a;
}

double catmull_rom(double p0, double p1, double p2, double p3, double u) {
  const double u2 = u * u, u3 = u2 * u;
  return 0.5 * ((2 * p1) + (-p0 + p2) * u + (2 * p0 - 5 * p1 + 4 * p2 - p3) * u2 + (-p0 + 3 * p1 - 3 * p2 + p3) * u3);
}

PoseVec interpolate(const ActionSpec& a, double frac) {
  const int n = static_cast<int>(a.keys.size());
  if (n == 1) return a.keys[0];
  int i = n - 1;
  for (int k = 0; k + 1 < n; ++k)
    if (frac >= a.key_times[k] && frac < a.key_times[k + 1]) {
      i = k;
      break;
    }
  const double t0 = a.key_times[i];
  const double t1 = i + 1 < n ? a.key_times[i + 1] : 1.0;
  const double u = std::clamp((frac - t0) / std::max(1e-9, t1 - t0), 0.0, 1.0);
  const PoseVec& k0 = a.keys[(i - 1 + n) % n];
  const PoseVec& k1 = a.keys[i];
  const PoseVec& k2 = a.keys[(i + 1) % n];
  const PoseVec& k3 = a.keys[(i + 2) % n];
  PoseVec out{};
  for (int d = 0; d < kNumDofs; ++d) out[d] = catmull_rom(k0[d], k1[d], k2[d], k3[d], u);
  return out;
}

void mirror_pose(PoseVec& p) {
  for (int d = 0; d < 5; ++d) std::swap(p[kLShFlex + d], p[kRShFlex + d]);
  for (int d = 0; d < 3; ++d) std::swap(p[kLHipFlex + d], p[kRHipFlex + d]);
  p[kTwist] = -p[kTwist];
  p[kLean] = -p[kLean];
}

/// Smooth random signal in about [-1, 1]: two sinusoids.
struct Wobble {
  double a1, w1, p1, a2, w2, p2;
  static Wobble sample(SynthRng& rng, double min_period, double max_period) {
    Wobble w{};
    w.a1 = rng.uniform(0.5, 1.0);
    w.w1 = 2 * kPi / rng.uniform(min_period, max_period);
    w.p1 = rng.uniform(0, 2 * kPi);
    w.a2 = rng.uniform(0.0, 0.4);
    w.w2 = 2 * kPi / rng.uniform(min_period * 0.5, max_period * 0.5);
    w.p2 = rng.uniform(0, 2 * kPi);
    return w;
  }
  double operator()(double t) const { return (a1 * std::sin(w1 * t + p1) + a2 * std::sin(w2 * t + p2)) / (a1 + a2); }
};

}  // namespace

// ---------------------------------------------------------------------------

BodyShape sample_body_shape(SynthRng& rng) {
  BodyShape s;
  const double h = rng.uniform(0.9, 1.1);  // overall height
  const double build = rng.uniform(0.85, 1.3);
  auto v = [&](double base) { return base * h * rng.uniform(0.95, 1.05); };
  s.spine = v(0.52);
  s.neck = v(0.10);
  s.head_radius = 0.105 * rng.uniform(0.93, 1.08);
  s.shoulder_half = v(0.185) * (0.9 + 0.15 * (build - 0.85));
  s.hip_half = v(0.10);
  s.upper_arm = v(0.29);
  s.forearm = v(0.26);
  s.hand = v(0.08);
  s.thigh = v(0.44);
  s.shin = v(0.42);
  s.foot = v(0.15);
  s.r_upper_arm = 0.048 * build;
  s.r_forearm = 0.037 * build;
  s.r_thigh = 0.072 * build;
  s.r_shin = 0.05 * build;
  s.r_torso = 0.10 * build;
  s.r_neck = 0.045 * build;
  return s;
}

BodyPose3D forward_kinematics(const BodyShape& s, const PoseVec& q, double yaw_deg) {
  BodyPose3D b;
  auto& p = b.p;
  const Mat3 root = rot_y(yaw_deg) * rot_x(q[kRootPitch]);
  const Mat3 tor = root * rot_y(q[kTwist]) * rot_z(q[kLean]) * rot_x(q[kTorsoPitch]);
  const Vec3 o{0, 0, 0};
  p[kPelvis] = o;
  p[kBelly] = tor * Vec3{0, s.spine * 0.45, 0.02};
  p[kNeck] = tor * Vec3{0, s.spine, 0};
  p[kHead] = add(p[kNeck], tor * (rot_x(q[kNeckPitch]) * Vec3{0, s.neck + s.head_radius, 0.02}));
  b.facing = normalized(tor * Vec3{0, 0, 1});
  const Vec3 down{0, -1, 0};
  for (int side = 0; side < 2; ++side) {
    const double sg = side == 0 ? 1.0 : -1.0;
    const int a = side == 0 ? kLShFlex : kRShFlex;
    const int l = side == 0 ? kLHipFlex : kRHipFlex;
    const int sho = side == 0 ? kLShoulder : kRShoulder;
    const int elb = side == 0 ? kLElbow : kRElbow;
    const int wri = side == 0 ? kLWrist : kRWrist;
    const int hnd = side == 0 ? kLHand : kRHand;
    const int hip = side == 0 ? kLHip : kRHip;
    const int kne = side == 0 ? kLKnee : kRKnee;
    const int ank = side == 0 ? kLAnkle : kRAnkle;
    const int toe = side == 0 ? kLToe : kRToe;
    p[sho] = add(p[kNeck], tor * Vec3{sg * s.shoulder_half, -0.035, 0});
    const Mat3 rs = tor * rot_y(sg * q[a + 2]) * rot_z(sg * q[a + 1]) * rot_x(-q[a]);
    p[elb] = add(p[sho], scale(rs * down, s.upper_arm));
    const Mat3 re = rs * rot_y(sg * q[a + 3]) * rot_x(-q[a + 4]);
    p[wri] = add(p[elb], scale(re * down, s.forearm));
    p[hnd] = add(p[wri], scale(re * down, s.hand));
    p[hip] = root * Vec3{sg * s.hip_half, -0.02, 0};
    const Mat3 rh = root * rot_z(sg * q[l + 1]) * rot_x(-q[l]);
    p[kne] = add(p[hip], scale(rh * down, s.thigh));
    const Mat3 rk = rh * rot_x(q[l + 2]);
    p[ank] = add(p[kne], scale(rk * down, s.shin));
    p[toe] = add(p[ank], scale(rk * normalized(Vec3{0, -0.35, 1}), s.foot));
  }
  return b;
}

Projected project(const SynthCamera& cam, const Vec3& p) {
  Projected r;
  r.depth = std::max(0.05, cam.pos.z - p.z);
  r.x = cam.cx + cam.f * (p.x - cam.pos.x) / r.depth;
  r.y = cam.cy - cam.f * (p.y - cam.pos.y) / r.depth;
  return r;
}

SynthMotion sample_motion(SynthRng& rng, const std::string& action, int frames, int width, int height,
                          double motion_scale) {
  const ActionSpec& spec = synth_action(action);
  SynthMotion m;
  m.action = action;
  m.shape = sample_body_shape(rng);
  const double cycle = rng.uniform(spec.cycle_min, spec.cycle_max);
  const double phase0 = rng.uniform();
  const double amp = rng.uniform(0.8, 1.1);
  const bool mirrored = rng.chance(0.15);
  m.mirrored = mirrored;
  PoseVec style{};
  for (int d = kTorsoPitch; d < kJump; ++d) style[d] = rng.normal() * 3.0;
  // Limb styles are symmetric so that left and right stay alike.
  for (int d = 0; d < 5; ++d) style[kRShFlex + d] = style[kLShFlex + d];
  for (int d = 0; d < 3; ++d) style[kRHipFlex + d] = style[kLHipFlex + d];
  double yaw = spec.yaw_center;
  if (spec.yaw_mirror && rng.chance(0.5)) yaw = -yaw;
  yaw += rng.uniform(-spec.yaw_spread, spec.yaw_spread);
  m.yaw_start = yaw;
  const double yaw_rate = rng.normal() * 0.5 * motion_scale;  // degrees per frame

  const PoseVec& base = spec.keys[0];
  std::vector<Vec3> root(frames);
  Vec3 travel_pos{0, 0, 0};
  m.bar_y = 2.25 * (m.shape.spine / 0.52);
  m.has_bar = spec.hang;
  m.bodies.resize(frames);
  m.jump.resize(frames);
  for (int t = 0; t < frames; ++t) {
    const double u = phase0 + t / cycle;
    const double frac = u - std::floor(u);
    PoseVec q = interpolate(spec, frac);
    for (int d = 0; d < kNumDofs; ++d) q[d] = base[d] + amp * (q[d] - base[d]) + style[d];
    q[kJump] = std::max(0.0, q[kJump]);
    if (mirrored) mirror_pose(q);
    const double yaw_t = yaw + yaw_rate * t;
    BodyPose3D b = forward_kinematics(m.shape, q, yaw_t);
    // Ground contact or hanging from the bar.
    double dy;
    if (spec.hang) {
      const double top = std::max(b.p[kLHand].y, b.p[kRHand].y);
      dy = m.bar_y - top;
    } else {
      double lowest = 1e9;
      for (int i = 0; i < kNumBodyPoints; ++i) {
        double r = 0.02;
        if (i == kPelvis || i == kBelly) r = m.shape.r_torso;
        if (i == kHead) r = m.shape.head_radius;
        lowest = std::min(lowest, b.p[i].y - r);
      }
      dy = -lowest + q[kJump];
    }
    if (t > 0 && (spec.travel > 0 || spec.rise > 0)) {
      const Vec3 dir = rot_y(yaw_t) * Vec3{0, 0, 1};
      travel_pos = add(travel_pos, scale(dir, spec.travel / cycle));
      travel_pos.y += spec.rise / cycle;
    }
    const Vec3 off{travel_pos.x, dy + travel_pos.y, travel_pos.z};
    for (auto& pt : b.p) pt = add(pt, off);
    root[t] = off;
    m.bodies[t] = b;
    m.jump[t] = q[kJump];
  }

  // Camera: fit the person's extent (relative to the tracked root) into the frame.
  double ext_x = 0, y_lo = 1e9, y_hi = -1e9;
  for (int t = 0; t < frames; ++t) {
    for (const auto& pt : m.bodies[t].p) {
      ext_x = std::max(ext_x, std::abs(pt.x - root[t].x));
      y_lo = std::min(y_lo, pt.y - root[t].y + root[0].y);
      y_hi = std::max(y_hi, pt.y - root[t].y + root[0].y);
    }
  }
  const double extent_h = std::max(0.5, y_hi - y_lo + 0.25);
  const double extent_w = std::max(0.5, 2 * ext_x + 0.25);
  const double distance = rng.uniform(4.5, 7.5);
  const double fill = rng.uniform(0.6, 0.9);
  const double f0 = fill * distance / std::max(extent_h / height, extent_w / width);
  const bool follow = spec.travel > 0 || spec.rise > 0;
  const double center_y = 0.5 * (y_lo + y_hi);
  double mean_x = 0, mean_z = 0;
  for (int t = 0; t < frames; ++t) {
    mean_x += root[t].x / frames;
    mean_z += root[t].z / frames;
  }
  const Wobble pan_x = Wobble::sample(rng, 40, 140), pan_y = Wobble::sample(rng, 40, 140);
  const Wobble zoom = Wobble::sample(rng, 50, 160);
  const double pan_amp = 0.06 * motion_scale * rng.uniform(0.3, 1.0);
  const double zoom_amp = 0.08 * motion_scale * rng.uniform(0.2, 1.0);
  const double off_x = rng.uniform(-0.08, 0.08) * width, off_y = rng.uniform(-0.05, 0.05) * height;
  m.cameras.resize(frames);
  for (int t = 0; t < frames; ++t) {
    SynthCamera c;
    c.f = f0 * (1.0 + zoom_amp * zoom(t));
    c.cx = 0.5 * width + off_x + pan_amp * width * pan_x(t);
    c.cy = 0.5 * height + off_y + pan_amp * height * pan_y(t);
    const double track_x = follow ? root[t].x : mean_x;
    const double track_z = follow ? root[t].z : mean_z;
    const double track_y = center_y + (follow ? root[t].y - root[0].y : 0.0);
    c.pos = {track_x, track_y, track_z + distance};
    m.cameras[t] = c;
  }
  return m;
}

}  // namespace dkd
