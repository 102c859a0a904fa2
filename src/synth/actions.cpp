#include "dkd/synth/actions.h"

#include <map>
#include <utility>

#include "dkd/util/error.h"

namespace dkd {

namespace {

// Keyframe authoring helpers.

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

/// `p` with the left and right limbs exchanged (the torso as it is): the
/// second half of a stepping cycle.
PoseVec other_side(const PoseVec& p) {
  PoseVec q = p;
  for (int d = 0; d < 5; ++d) std::swap(q[kLShFlex + d], q[kRShFlex + d]);
  for (int d = 0; d < 3; ++d) std::swap(q[kLHipFlex + d], q[kRHipFlex + d]);
  return q;
}

/// A walking cycle seen from the side: `step` (left leg forward), `pass` (legs
/// passing), then both with the sides exchanged; `travel` metres per cycle.
ActionSpec gait(const std::string& name, const PoseVec& step, const PoseVec& pass, double cmin, double cmax,
                double yaw_spread, double travel) {
  ActionSpec s = make(name, {0.0, 0.25, 0.5, 0.75}, {step, pass, other_side(step), other_side(pass)}, cmin, cmax, 90,
                      yaw_spread, true);
  s.travel = travel;
  return s;
}

// Golf and baseball swings are shared by both formats.
ActionSpec golf_swing_action(const std::string& name) {
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

ActionSpec baseball_swing_action(const std::string& name) {
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

ActionSpec pullup_action() {
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

// The other actions, one function each, in the order of the Penn Action and
// then the Sub-JHMDB class lists.

// Right-handed.
ActionSpec baseball_pitch_action() {
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
  return make("baseball_pitch", {0.0, 0.25, 0.5, 0.62, 0.75}, {set, windup, stride, release, follow}, 40, 65, 90, 35,
              true);
}

// Lying on the back, bar pushed up.
ActionSpec bench_press_action() {
  PoseVec up = stand();
  up[kRootPitch] = -88;
  arms(up, 90, 18, 0, 0, 0);
  legs(up, 65, 18, 95);
  PoseVec down = up;
  arms(down, 30, 55, 0, 0, 95);
  ActionSpec a = make("bench_press", {0.0, 0.45, 0.55}, {up, down, down}, 24, 40, 90, 40, true);
  a.lying = true;
  return a;
}

ActionSpec bowl_action() {
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
  return make("bowl", {0.0, 0.3, 0.55, 0.7, 0.85}, {start, back, slide, follow, follow}, 45, 70, 90, 70, true);
}

ActionSpec clean_and_jerk_action() {
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
  return make("clean_and_jerk", {0.0, 0.2, 0.35, 0.55, 0.7, 0.85}, {floor, pull, rack, rack, jerk, jerk}, 55, 80, 0, 60,
              false);
}

ActionSpec jump_rope_action() {
  PoseVec up = stand();
  arms(up, 5, 25, 0, 0, 55);
  legs(up, 8, 4, 10);
  up[kJump] = 0.10;
  PoseVec down = up;
  arms(down, 25, 30, 0, 0, 80);
  legs(down, 25, 4, 40);
  down[kJump] = 0.0;
  return make("jump_rope", {0.0, 0.5}, {down, up}, 10, 16, 0, 40, false);
}

ActionSpec jumping_jacks_action() {
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
  return make("jumping_jacks", {0.0, 0.25, 0.5, 0.75}, {closed, mid, open, mid2}, 14, 24, 0, 35, false);
}

// Body straight and face down, hands under the shoulders.
ActionSpec pushup_action() {
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
  return a;
}

ActionSpec situp_action() {
  PoseVec lie = stand();
  lie[kRootPitch] = -88;
  legs(lie, 55, 6, 100);
  arms(lie, 40, 70, 0, 90, 145);
  PoseVec up = lie;
  torso(up, 75);
  up[kNeckPitch] = 15;
  ActionSpec a = make("situp", {0.0, 0.15, 0.5, 0.6}, {lie, lie, up, up}, 24, 40, 90, 25, true);
  a.lying = true;
  return a;
}

ActionSpec squat_action() {
  PoseVec top = stand();
  arms(top, 85, 10, -5, 0, 5);
  legs(top, 3, 9, 5);
  PoseVec bottom = top;
  torso(bottom, 40);
  legs(bottom, 105, 14, 125);
  arms(bottom, 95, 10, -5, 0, 5);
  return make("squat", {0.0, 0.15, 0.5, 0.62}, {top, top, bottom, bottom}, 26, 44, 0, 70, false);
}

ActionSpec strum_guitar_action() {
  PoseVec a = stand();
  arm(a, kRight, 30, 10, -45, 0, 95);
  arm(a, kLeft, 55, 35, 35, 0, 70);
  torso(a, 8, -5);
  PoseVec b = a;
  arm(b, kRight, 20, 10, -40, 0, 70);
  torso(b, 10, 3, 3);
  return make("strum_guitar", {0.0, 0.5}, {a, b}, 8, 16, 0, 40, false);
}

ActionSpec tennis_forehand_action() {
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
  return make("tennis_forehand", {0.0, 0.35, 0.55, 0.7, 0.85}, {ready, back, contact, follow, follow}, 40, 65, 0, 70,
              false);
}

ActionSpec tennis_serve_action() {
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
  return make("tennis_serve", {0.0, 0.25, 0.5, 0.62, 0.78}, {st, toss, toss, hit, follow}, 45, 70, 60, 50, true);
}

ActionSpec catch_ball_action() {
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
  return make("catch", {0.0, 0.3, 0.55, 0.8}, {wait, reach, caught, caught}, 30, 50, 0, 60, false);
}

ActionSpec climb_stairs_action() {
  PoseVec a = stand();
  leg(a, kLeft, 65, 4, 80);
  leg(a, kRight, -5, 4, 5);
  arm(a, kLeft, -20, 8, 0, 0, 20);
  arm(a, kRight, 25, 8, 0, 0, 30);
  torso(a, 15);
  ActionSpec s = make("climb_stairs", {0.0, 0.5}, {a, other_side(a)}, 24, 36, 90, 50, true);
  s.travel = 0.6;
  s.rise = 0.36;
  return s;
}

ActionSpec jump_action() {
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
  return make("jump", {0.0, 0.25, 0.45, 0.62, 0.8}, {st, crouch, air, land, st}, 28, 42, 0, 90, false);
}

ActionSpec kick_ball_action() {
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
  return make("kick_ball", {0.0, 0.3, 0.5, 0.65}, {st, wind, kick, st}, 28, 44, 90, 50, true);
}

ActionSpec pick_action() {
  PoseVec st = stand();
  PoseVec bend = stand();
  torso(bend, 80);
  legs(bend, 25, 10, 40);
  arm(bend, kRight, 85, 5, -5, 0, 10);
  arm(bend, kLeft, 60, 10, 0, 0, 30);
  bend[kNeckPitch] = -30;
  return make("pick", {0.0, 0.2, 0.5, 0.65}, {st, st, bend, bend}, 32, 44, 90, 60, true);
}

// Lean and push forward with both arms while stepping.
ActionSpec push_action() {
  PoseVec a = stand();
  torso(a, 30);
  arms(a, 85, 15, -10, 0, 40);
  leg(a, kLeft, 40, 4, 35);
  leg(a, kRight, -25, 4, 10);
  PoseVec b = other_side(a);
  arms(b, 90, 15, -10, 0, 10);
  ActionSpec s = make("push", {0.0, 0.5}, {a, b}, 28, 40, 90, 40, true);
  s.travel = 0.5;
  return s;
}

ActionSpec run_action() {
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
  return gait("run", a, mid, 14, 22, 45, 2.4);
}

// Basketball.
ActionSpec shoot_ball_action() {
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
  return make("shoot_ball", {0.0, 0.3, 0.5, 0.62, 0.8}, {hold, dip, release, follow, hold}, 30, 44, 0, 70, false);
}

ActionSpec walk_action() {
  PoseVec a = stand();
  leg(a, kLeft, 25, 3, 8);
  leg(a, kRight, -18, 3, 15);
  arm(a, kLeft, -20, 8, 0, 0, 15);
  arm(a, kRight, 22, 8, 0, 0, 25);
  PoseVec mid = stand();
  leg(mid, kLeft, 0, 3, 5);
  leg(mid, kRight, 15, 3, 55);
  arms(mid, 0, 8, 0, 0, 18);
  return gait("walk", a, mid, 22, 32, 55, 1.35);
}

std::map<std::string, ActionSpec> build_actions() {
  std::map<std::string, ActionSpec> m;
  auto add = [&](ActionSpec a) { m[a.name] = std::move(a); };
  add(baseball_pitch_action());
  add(baseball_swing_action("baseball_swing"));
  add(bench_press_action());
  add(bowl_action());
  add(clean_and_jerk_action());
  add(golf_swing_action("golf_swing"));
  add(jump_rope_action());
  add(jumping_jacks_action());
  add(pullup_action());
  add(pushup_action());
  add(situp_action());
  add(squat_action());
  add(strum_guitar_action());
  add(tennis_forehand_action());
  add(tennis_serve_action());

  // --- Sub-JHMDB ---
  add(catch_ball_action());
  add(climb_stairs_action());
  add(golf_swing_action("golf"));
  add(jump_action());
  add(kick_ball_action());
  add(pick_action());  // pullup: the Penn Action one
  add(push_action());
  add(run_action());
  add(shoot_ball_action());
  add(baseball_swing_action("swing_baseball"));
  add(walk_action());
  return m;
}

}  // namespace

const std::vector<std::string>& synth_action_names(SynthFormat format) {
  static const std::vector<std::string> penn = {"baseball_pitch", "baseball_swing",  "bench_press", "bowl",
                                                "clean_and_jerk", "golf_swing",      "jump_rope",   "jumping_jacks",
                                                "pullup",         "pushup",          "situp",       "squat",
                                                "strum_guitar",   "tennis_forehand", "tennis_serve"};
  static const std::vector<std::string> jhmdb = {"catch",     "climb_stairs", "golf",           "jump",
                                                 "kick_ball", "pick",         "pullup",         "push",
                                                 "run",       "shoot_ball",   "swing_baseball", "walk"};
  switch (format) {
    case SynthFormat::penn:
      return penn;
    case SynthFormat::jhmdb:
      return jhmdb;
  }
  throw UsageError("unknown synthetic layout");
}

const ActionSpec& synth_action(const std::string& name) {
  static const std::map<std::string, ActionSpec> m = build_actions();
  auto it = m.find(name);
  if (it == m.end()) throw UsageError("unknown synthetic action '" + name + "'");
  return it->second;
}

}  // namespace dkd
