#pragma once
// The action table of the synthetic data set: for each Penn Action and
// Sub-JHMDB class, cyclic keyframe poses (the degrees of freedom of motion.h)
// and the ranges its execution is sampled from (cycle length, body yaw,
// travel). sample_motion (motion.h) turns one of them into a video's motion.
#include <string>
#include <vector>

#include "dkd/config/kinds.h"
#include "dkd/synth/motion.h"

namespace dkd {

/// How the action is executed in one video.
struct ActionSpec {
  std::string name;
  std::vector<double> key_times;            ///< in [0, 1), increasing, first 0
  std::vector<PoseVec> keys;                ///< one pose per key time (cyclic)
  double cycle_min = 20, cycle_max = 40;    ///< frames per cycle
  double yaw_center = 0, yaw_spread = 180;  ///< degrees, body yaw distribution
  bool yaw_mirror = false;                  ///< yaw_center or -yaw_center (side views)
  double travel = 0;                        ///< metres per cycle along the facing direction
  double rise = 0;                          ///< metres per cycle upwards (stairs)
  bool hang = false;                        ///< hands hold a bar (pull-up)
  bool lying = false;                       ///< body close to the ground (camera lower)
};

/// The layouts the generator writes: a data set's own on-disk format, read back by
/// that data set's reader (data.dataset of the same name).
enum class SynthFormat { penn, jhmdb };

template <>
struct EnumNames<SynthFormat> {
  static constexpr const char* what = "synthetic layout";
  static constexpr std::array<std::pair<SynthFormat, const char*>, 2> values{
      {{SynthFormat::penn, "penn"}, {SynthFormat::jhmdb, "jhmdb"}}};
};

/// Action names of a format, in the order used for class labels:
/// penn: the 15 Penn Action classes; jhmdb: the 12 Sub-JHMDB classes.
const std::vector<std::string>& synth_action_names(SynthFormat format);

/// Keyframes and execution ranges of an action (UsageError for an unknown name).
const ActionSpec& synth_action(const std::string& name);

}  // namespace dkd
