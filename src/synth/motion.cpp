#include "dkd/synth/motion.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "dkd/util/error.h"

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

// ---------------------------------------------------------------------------
// Keyframe authoring helpers

PoseVec stand() {
  PoseVec p{};
  p[kLShAbd] = p[kRShAbd] = 8;
  p[kLElbowFlex] = p[kRElbowFlex] = 12;
  p[kLHipAbd] = p[kRHipAbd] = 3;
  p[kLKneeFlex] = p[kRKneeFlex] = 4;
  return p;
}

enum Side { kLeft = 0, kRight = 1 };

void arm(PoseVec& p, int side, double flex, double abd, double hor, double tw, double elb) {
  const int o = side == kLeft ? kLShFlex : kRShFlex;
  p[o] = flex;
  p[o + 1] = abd;
  p[o + 2] = hor;
  p[o + 3] = tw;
  p[o + 4] = elb;
}
void arms(PoseVec& p, double flex, double abd, double hor, double tw, double elb) {
  arm(p, kLeft, flex, abd, hor, tw, elb);
  arm(p, kRight, flex, abd, hor, tw, elb);
}
void leg(PoseVec& p, int side, double flex, double abd, double knee) {
  const int o = side == kLeft ? kLHipFlex : kRHipFlex;
  p[o] = flex;
  p[o + 1] = abd;
  p[o + 2] = knee;
}
void legs(PoseVec& p, double flex, double abd, double knee) {
  leg(p, kLeft, flex, abd, knee);
  leg(p, kRight, flex, abd, knee);
}
void torso(PoseVec& p, double pitch, double twist = 0, double lean = 0) {
  p[kTorsoPitch] = pitch;
  p[kTwist] = twist;
  p[kLean] = lean;
}

ActionSpec make(const std::string& name, std::vector<double> times, std::vector<PoseVec> keys, double cmin, double cmax,
                double yaw_c, double yaw_s, bool mirror) {
  ActionSpec a;
  a.name = name;
  a.key_times = std::move(times);
  a.keys = std::move(keys);
  a.cycle_min = cmin;
  a.cycle_max = cmax;
  a.yaw_center = yaw_c;
  a.yaw_spread = yaw_s;
  a.yaw_mirror = mirror;
  return a;
}

// Golf and baseball swings are shared by both formats.
ActionSpec golf_swing(const std::string& name) {
  PoseVec address = stand();
  torso(address, 38);
  legs(address, 18, 8, 22);
  arm(address, kLeft, 38, 0, -22, 0, 5);
  arm(address, kRight, 36, 0, -16, 0, 12);
  PoseVec back = address;
  torso(back, 30, -75);
  arm(back, kLeft, 105, 0, -75, 0, 5);
  arm(back, kRight, 95, 35, -5, 60, 95);
  leg(back, kLeft, 22, 4, 32);
  PoseVec impact = address;
  torso(impact, 36, 10);
  PoseVec follow = address;
  torso(follow, 8, 80);
  arm(follow, kRight, 115, 0, -80, 0, 10);
  arm(follow, kLeft, 100, 40, 10, 60, 100);
  leg(follow, kRight, 10, 0, 35);
  leg(follow, kLeft, 5, 6, 5);
  PoseVec hold = follow;
  torso(hold, 5, 85);
  return make(name, {0.0, 0.15, 0.45, 0.56, 0.66, 0.85}, {address, address, back, impact, follow, hold}, 50, 80, 0, 35,
              false);
}

ActionSpec baseball_swing(const std::string& name) {
  PoseVec stance = stand();
  torso(stance, 15, -20);
  legs(stance, 20, 14, 25);
  arm(stance, kRight, 45, 35, 10, 40, 115);
  arm(stance, kLeft, 60, 0, -55, 0, 85);
  PoseVec load = stance;
  torso(load, 15, -35);
  leg(load, kLeft, 35, 5, 40);
  PoseVec contact = stance;
  torso(contact, 18, 45);
  arm(contact, kLeft, 85, 0, 20, 0, 10);
  arm(contact, kRight, 85, 0, -45, 0, 20);
  leg(contact, kRight, 10, 14, 35);
  PoseVec follow = contact;
  torso(follow, 10, 85);
  arm(follow, kLeft, 100, 45, 0, 60, 100);
  arm(follow, kRight, 95, 0, -75, 0, 55);
  return make(name, {0.0, 0.3, 0.5, 0.62, 0.8}, {stance, load, contact, follow, follow}, 35, 60, 0, 40, false);
}

ActionSpec pullup() {
  PoseVec hang = stand();
  arms(hang, 0, 168, 0, 0, 5);
  legs(hang, 12, 2, 35);
  hang[kNeckPitch] = -10;
  PoseVec top = hang;
  arms(top, 0, 105, 0, 90, 125);
  legs(top, 25, 2, 60);
  top[kNeckPitch] = -20;
  ActionSpec a = make("pullup", {0.0, 0.15, 0.55, 0.7}, {hang, hang, top, top}, 24, 40, 0, 35, false);
  a.hang = true;
  return a;
}

std::map<std::string, ActionSpec> build_actions() {
  std::map<std::string, ActionSpec> m;
  auto add_spec = [&](ActionSpec a) { m[a.name] = std::move(a); };

  {  // baseball_pitch (right-handed)
    PoseVec set = stand();
    arms(set, 45, 5, -25, 0, 110);
    PoseVec windup = set;
    leg(windup, kLeft, 85, 5, 95);
    torso(windup, 5, -25);
    PoseVec stride = stand();
    torso(stride, 10, -35);
    leg(stride, kLeft, 55, 10, 25);
    leg(stride, kRight, -15, 5, 35);
    arm(stride, kRight, -20, 95, 0, 90, 95);
    arm(stride, kLeft, 80, 10, 20, 0, 40);
    PoseVec release = stride;
    torso(release, 35, 30);
    arm(release, kRight, 150, 10, -20, 0, 25);
    arm(release, kLeft, 20, 25, 0, 0, 90);
    PoseVec follow = release;
    torso(follow, 50, 40);
    arm(follow, kRight, 50, 0, -45, 0, 30);
    leg(follow, kRight, -35, 5, 70);
    add_spec(make("baseball_pitch", {0.0, 0.25, 0.5, 0.62, 0.75}, {set, windup, stride, release, follow}, 40, 65, 90,
                  35, true));
  }
  add_spec(baseball_swing("baseball_swing"));
  {  // bench_press: lying on the back, bar pushed up
    PoseVec up = stand();
    up[kRootPitch] = -88;
    arms(up, 90, 18, 0, 0, 0);
    legs(up, 65, 18, 95);
    PoseVec down = up;
    arms(down, 30, 55, 0, 0, 95);
    ActionSpec a = make("bench_press", {0.0, 0.45, 0.55}, {up, down, down}, 24, 40, 90, 40, true);
    a.lying = true;
    add_spec(a);
  }
  {  // bowl
    PoseVec start = stand();
    arm(start, kRight, 40, 5, -10, 0, 70);
    arm(start, kLeft, 40, 5, -15, 0, 70);
    PoseVec back = stand();
    torso(back, 25, -15);
    arm(back, kRight, -65, 10, 0, 0, 5);
    arm(back, kLeft, 30, 40, 0, 0, 20);
    leg(back, kLeft, 30, 3, 35);
    leg(back, kRight, -10, 3, 20);
    PoseVec slide = back;
    torso(slide, 45, 5);
    arm(slide, kRight, 55, 5, 0, 0, 5);
    leg(slide, kLeft, 75, 5, 80);
    leg(slide, kRight, -35, 15, 10);
    PoseVec follow = slide;
    arm(follow, kRight, 135, 5, -10, 0, 15);
    torso(follow, 35, 10);
    add_spec(make("bowl", {0.0, 0.3, 0.55, 0.7, 0.85}, {start, back, slide, follow, follow}, 45, 70, 90, 70, true));
  }
  {  // clean_and_jerk
    PoseVec floor = stand();
    torso(floor, 55);
    legs(floor, 95, 15, 110);
    arms(floor, 55, 14, 0, 0, 0);
    PoseVec pull = floor;
    torso(pull, 25);
    legs(pull, 35, 12, 30);
    arms(pull, 25, 14, 0, 0, 10);
    PoseVec rack = stand();
    torso(rack, 5);
    legs(rack, 45, 14, 60);
    arms(rack, 55, 20, 0, 0, 150);
    PoseVec jerk = stand();
    arms(jerk, 172, 14, 0, 0, 0);
    leg(jerk, kLeft, 40, 5, 45);
    leg(jerk, kRight, -25, 5, 25);
    add_spec(make("clean_and_jerk", {0.0, 0.2, 0.35, 0.55, 0.7, 0.85}, {floor, pull, rack, rack, jerk, jerk}, 55, 80, 0,
                  60, false));
  }
  add_spec(golf_swing("golf_swing"));
  {  // jump_rope
    PoseVec up = stand();
    arms(up, 5, 25, 0, 0, 55);
    legs(up, 8, 4, 10);
    up[kJump] = 0.10;
    PoseVec down = up;
    arms(down, 25, 30, 0, 0, 80);
    legs(down, 25, 4, 40);
    down[kJump] = 0.0;
    add_spec(make("jump_rope", {0.0, 0.5}, {down, up}, 10, 16, 0, 40, false));
  }
  {  // jumping_jacks
    PoseVec closed = stand();
    arms(closed, 2, 6, 0, 0, 10);
    legs(closed, 2, 2, 8);
    PoseVec mid = stand();
    arms(mid, 5, 95, 0, 0, 10);
    legs(mid, 5, 10, 5);
    mid[kJump] = 0.09;
    PoseVec open = stand();
    arms(open, 5, 168, 0, 0, 15);
    legs(open, 5, 18, 12);
    PoseVec mid2 = mid;
    add_spec(make("jumping_jacks", {0.0, 0.25, 0.5, 0.75}, {closed, mid, open, mid2}, 14, 24, 0, 35, false));
  }
  add_spec(pullup());
  {  // pushup: body straight and face down, hands under the shoulders
    PoseVec up = stand();
    up[kRootPitch] = 72;
    arms(up, 88, 12, 0, 0, 0);
    legs(up, 0, 4, 0);
    up[kNeckPitch] = -25;
    PoseVec down = up;
    down[kRootPitch] = 86;
    arms(down, 25, 35, 0, 0, 80);
    ActionSpec a = make("pushup", {0.0, 0.45, 0.55}, {up, down, down}, 20, 36, 90, 25, true);
    a.lying = true;
    add_spec(a);
  }
  {  // situp
    PoseVec lie = stand();
    lie[kRootPitch] = -88;
    legs(lie, 55, 6, 100);
    arms(lie, 40, 70, 0, 90, 145);
    PoseVec up = lie;
    torso(up, 75);
    up[kNeckPitch] = 15;
    ActionSpec a = make("situp", {0.0, 0.15, 0.5, 0.6}, {lie, lie, up, up}, 24, 40, 90, 25, true);
    a.lying = true;
    add_spec(a);
  }
  {  // squat
    PoseVec top = stand();
    arms(top, 85, 10, -5, 0, 5);
    legs(top, 3, 9, 5);
    PoseVec bottom = top;
    torso(bottom, 40);
    legs(bottom, 105, 14, 125);
    arms(bottom, 95, 10, -5, 0, 5);
    add_spec(make("squat", {0.0, 0.15, 0.5, 0.62}, {top, top, bottom, bottom}, 26, 44, 0, 70, false));
  }
  {  // strum_guitar
    PoseVec a = stand();
    arm(a, kRight, 30, 10, -45, 0, 95);
    arm(a, kLeft, 55, 35, 35, 0, 70);
    torso(a, 8, -5);
    PoseVec b = a;
    arm(b, kRight, 20, 10, -40, 0, 70);
    torso(b, 10, 3, 3);
    add_spec(make("strum_guitar", {0.0, 0.5}, {a, b}, 8, 16, 0, 40, false));
  }
  {  // tennis_forehand
    PoseVec ready = stand();
    torso(ready, 18);
    legs(ready, 25, 14, 30);
    arms(ready, 40, 10, -20, 0, 80);
    PoseVec back = ready;
    torso(back, 15, -70);
    arm(back, kRight, 70, 40, 55, 0, 25);
    arm(back, kLeft, 80, 0, -20, 0, 15);
    PoseVec contact = ready;
    torso(contact, 15, 0);
    arm(contact, kRight, 80, 5, 0, 0, 15);
    arm(contact, kLeft, 45, 30, 20, 0, 40);
    PoseVec follow = contact;
    torso(follow, 10, 65);
    arm(follow, kRight, 125, 0, -80, 0, 85);
    add_spec(make("tennis_forehand", {0.0, 0.35, 0.55, 0.7, 0.85}, {ready, back, contact, follow, follow}, 40, 65, 0,
                  70, false));
  }
  {  // tennis_serve
    PoseVec st = stand();
    arm(st, kLeft, 60, 5, -15, 0, 30);
    arm(st, kRight, 55, 5, -20, 0, 40);
    PoseVec toss = stand();
    arm(toss, kLeft, 170, 5, 0, 0, 5);
    arm(toss, kRight, 0, 95, 0, 90, 100);
    torso(toss, -15, -25);
    legs(toss, 35, 10, 45);
    PoseVec hit = stand();
    arm(hit, kRight, 175, 5, 0, 0, 5);
    arm(hit, kLeft, 60, 10, 0, 0, 60);
    torso(hit, 10, 10);
    hit[kJump] = 0.12;
    PoseVec follow = stand();
    arm(follow, kRight, 35, 5, -40, 0, 20);
    arm(follow, kLeft, 20, 30, 0, 0, 60);
    torso(follow, 45, 25);
    leg(follow, kRight, -25, 5, 55);
    add_spec(make("tennis_serve", {0.0, 0.25, 0.5, 0.62, 0.78}, {st, toss, toss, hit, follow}, 45, 70, 60, 50, true));
  }

  // --- Sub-JHMDB ---
  {  // catch
    PoseVec wait = stand();
    arms(wait, 30, 15, -5, 0, 60);
    legs(wait, 15, 12, 20);
    PoseVec reach = wait;
    arms(reach, 110, 10, -12, 0, 20);
    torso(reach, -5);
    PoseVec caught = wait;
    arms(caught, 55, 15, -25, 0, 110);
    torso(caught, 15);
    leg(caught, kRight, -10, 10, 25);
    add_spec(make("catch", {0.0, 0.3, 0.55, 0.8}, {wait, reach, caught, caught}, 30, 50, 0, 60, false));
  }
  {  // climb_stairs
    PoseVec a = stand();
    leg(a, kLeft, 65, 4, 80);
    leg(a, kRight, -5, 4, 5);
    arm(a, kLeft, -20, 8, 0, 0, 20);
    arm(a, kRight, 25, 8, 0, 0, 30);
    torso(a, 15);
    PoseVec b = a;
    leg(b, kRight, 65, 4, 80);
    leg(b, kLeft, -5, 4, 5);
    arm(b, kRight, -20, 8, 0, 0, 20);
    arm(b, kLeft, 25, 8, 0, 0, 30);
    ActionSpec s = make("climb_stairs", {0.0, 0.5}, {a, b}, 24, 36, 90, 50, true);
    s.travel = 0.6;
    s.rise = 0.36;
    add_spec(s);
  }
  add_spec(golf_swing("golf"));
  {  // jump
    PoseVec st = stand();
    PoseVec crouch = stand();
    torso(crouch, 45);
    legs(crouch, 85, 8, 110);
    arms(crouch, -50, 10, 0, 0, 10);
    PoseVec air = stand();
    arms(air, 160, 15, 0, 0, 10);
    legs(air, 10, 5, 25);
    air[kJump] = 0.38;
    PoseVec land = crouch;
    arms(land, 60, 15, 0, 0, 20);
    torso(land, 35);
    add_spec(make("jump", {0.0, 0.25, 0.45, 0.62, 0.8}, {st, crouch, air, land, st}, 28, 42, 0, 90, false));
  }
  {  // kick_ball
    PoseVec st = stand();
    PoseVec wind = stand();
    leg(wind, kRight, -45, 5, 85);
    leg(wind, kLeft, 15, 5, 25);
    arms(wind, 10, 40, 0, 0, 30);
    torso(wind, 10, -15);
    PoseVec kick = stand();
    leg(kick, kRight, 85, 5, 10);
    leg(kick, kLeft, 10, 5, 20);
    arm(kick, kLeft, 50, 35, 0, 0, 20);
    arm(kick, kRight, -20, 35, 0, 0, 20);
    torso(kick, -12, 15);
    add_spec(make("kick_ball", {0.0, 0.3, 0.5, 0.65}, {st, wind, kick, st}, 28, 44, 90, 50, true));
  }
  {  // pick
    PoseVec st = stand();
    PoseVec bend = stand();
    torso(bend, 80);
    legs(bend, 25, 10, 40);
    arm(bend, kRight, 85, 5, -5, 0, 10);
    arm(bend, kLeft, 60, 10, 0, 0, 30);
    bend[kNeckPitch] = -30;
    add_spec(make("pick", {0.0, 0.2, 0.5, 0.65}, {st, st, bend, bend}, 32, 44, 90, 60, true));
  }
  add_spec([] {
    ActionSpec a = pullup();
    return a;
  }());
  {  // push: lean and push forward with both arms while stepping
    PoseVec a = stand();
    torso(a, 30);
    arms(a, 85, 15, -10, 0, 40);
    leg(a, kLeft, 40, 4, 35);
    leg(a, kRight, -25, 4, 10);
    PoseVec b = a;
    arms(b, 90, 15, -10, 0, 10);
    leg(b, kRight, 40, 4, 35);
    leg(b, kLeft, -25, 4, 10);
    ActionSpec s = make("push", {0.0, 0.5}, {a, b}, 28, 40, 90, 40, true);
    s.travel = 0.5;
    add_spec(s);
  }
  {  // run
    PoseVec a = stand();
    torso(a, 12);
    leg(a, kLeft, 55, 4, 60);
    leg(a, kRight, -25, 4, 40);
    arm(a, kLeft, -35, 10, 0, 0, 95);
    arm(a, kRight, 45, 10, 0, 0, 85);
    a[kJump] = 0.05;
    PoseVec mid = stand();
    torso(mid, 12);
    leg(mid, kLeft, 20, 4, 100);
    leg(mid, kRight, 15, 4, 25);
    arms(mid, 5, 10, 0, 0, 90);
    PoseVec b = a;
    leg(b, kRight, 55, 4, 60);
    leg(b, kLeft, -25, 4, 40);
    arm(b, kRight, -35, 10, 0, 0, 95);
    arm(b, kLeft, 45, 10, 0, 0, 85);
    PoseVec mid2 = mid;
    leg(mid2, kRight, 20, 4, 100);
    leg(mid2, kLeft, 15, 4, 25);
    ActionSpec s = make("run", {0.0, 0.25, 0.5, 0.75}, {a, mid, b, mid2}, 14, 22, 90, 45, true);
    s.travel = 2.4;
    add_spec(s);
  }
  {  // shoot_ball (basketball)
    PoseVec hold = stand();
    arms(hold, 60, 15, -20, 0, 120);
    PoseVec dip = hold;
    legs(dip, 55, 8, 75);
    torso(dip, 20);
    PoseVec release = stand();
    arm(release, kRight, 160, 5, 0, 0, 20);
    arm(release, kLeft, 140, 20, -20, 0, 60);
    release[kJump] = 0.15;
    legs(release, 5, 5, 15);
    PoseVec follow = release;
    follow[kJump] = 0;
    arm(follow, kRight, 140, 5, 0, 0, 40);
    add_spec(make("shoot_ball", {0.0, 0.3, 0.5, 0.62, 0.8}, {hold, dip, release, follow, hold}, 30, 44, 0, 70, false));
  }
  add_spec(baseball_swing("swing_baseball"));
  {  // walk
    PoseVec a = stand();
    leg(a, kLeft, 25, 3, 8);
    leg(a, kRight, -18, 3, 15);
    arm(a, kLeft, -20, 8, 0, 0, 15);
    arm(a, kRight, 22, 8, 0, 0, 25);
    PoseVec mid = stand();
    leg(mid, kLeft, 0, 3, 5);
    leg(mid, kRight, 15, 3, 55);
    arms(mid, 0, 8, 0, 0, 18);
    PoseVec b = a;
    leg(b, kRight, 25, 3, 8);
    leg(b, kLeft, -18, 3, 15);
    arm(b, kRight, -20, 8, 0, 0, 15);
    arm(b, kLeft, 22, 8, 0, 0, 25);
    PoseVec mid2 = mid;
    leg(mid2, kRight, 0, 3, 5);
    leg(mid2, kLeft, 15, 3, 55);
    ActionSpec s = make("walk", {0.0, 0.25, 0.5, 0.75}, {a, mid, b, mid2}, 22, 32, 90, 55, true);
    s.travel = 1.35;
    add_spec(s);
  }
  return m;
}

const std::map<std::string, ActionSpec>& actions() {
  static const std::map<std::string, ActionSpec> m = build_actions();
  return m;
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

const std::vector<std::string>& synth_action_names(const std::string& dataset) {
  static const std::vector<std::string> penn = {"baseball_pitch", "baseball_swing",  "bench_press", "bowl",
                                                "clean_and_jerk", "golf_swing",      "jump_rope",   "jumping_jacks",
                                                "pullup",         "pushup",          "situp",       "squat",
                                                "strum_guitar",   "tennis_forehand", "tennis_serve"};
  static const std::vector<std::string> jhmdb = {"catch",     "climb_stairs", "golf",           "jump",
                                                 "kick_ball", "pick",         "pullup",         "push",
                                                 "run",       "shoot_ball",   "swing_baseball", "walk"};
  if (dataset == "penn") return penn;
  if (dataset == "jhmdb") return jhmdb;
  throw UsageError("unknown data set format '" + dataset + "' (expected penn or jhmdb)");
}

const ActionSpec& synth_action(const std::string& name) {
  const auto& m = actions();
  auto it = m.find(name);
  if (it == m.end()) throw UsageError("unknown synthetic action '" + name + "'");
  return it->second;
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
