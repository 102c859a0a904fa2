#pragma once
// Joint definitions of the two data set formats: names, left/right flip pairs,
// limbs for drawing, the PCK table columns and the torso pair.
#include <string>
#include <utility>
#include <vector>

#include "dkd/config/kinds.h"

namespace dkd {

struct Skeleton {
  DatasetKind dataset = DatasetKind::penn;
  std::vector<std::string> joint_names;         ///< in file order
  std::vector<std::pair<int, int>> flip_pairs;  ///< (left, right) or (right, left) as in the file
  std::vector<std::pair<int, int>> limbs;       ///< joint pairs joined when drawing
  /// PCK table columns in order Head, Sho, Elb, Wri, Hip, Knee, Ank; each lists
  /// the joints averaged into it (one for Head, a left/right pair otherwise).
  std::vector<std::pair<std::string, std::vector<int>>> columns;
  std::pair<int, int> torso;  ///< shoulder and opposite hip, for torso-normalised PCK

  int num_joints() const { return static_cast<int>(joint_names.size()); }
  /// Index of the joint mirrored by a horizontal flip (itself when unpaired).
  int flipped(int joint) const;
  /// Joints that appear in the PCK table (JHMDB's neck and belly do not).
  std::vector<int> table_joints() const;
};

/// Skeleton of a data set format.
const Skeleton& skeleton_for(DatasetKind dataset);

}  // namespace dkd
