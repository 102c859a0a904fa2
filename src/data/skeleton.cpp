#include "dkd/data/skeleton.h"

#include "dkd/config/schema.h"
#include "dkd/util/error.h"

namespace dkd {

namespace {

Skeleton make_penn() {
  Skeleton s;
  s.dataset = DatasetKind::penn;
  s.joint_names = dataset_joint_names(DatasetKind::penn);
  s.flip_pairs = {{1, 2}, {3, 4}, {5, 6}, {7, 8}, {9, 10}, {11, 12}};
  s.limbs = {{0, 1}, {0, 2}, {1, 2}, {1, 3}, {3, 5},  {2, 4},  {4, 6},
             {1, 7}, {2, 8}, {7, 8}, {7, 9}, {9, 11}, {8, 10}, {10, 12}};
  s.columns = {{"Head", {0}},   {"Sho", {1, 2}},   {"Elb", {3, 4}},  {"Wri", {5, 6}},
               {"Hip", {7, 8}}, {"Knee", {9, 10}}, {"Ank", {11, 12}}};
  s.torso = {2, 7};
  return s;
}

Skeleton make_jhmdb() {
  Skeleton s;
  s.dataset = DatasetKind::jhmdb;
  s.joint_names = dataset_joint_names(DatasetKind::jhmdb);
  s.flip_pairs = {{3, 4}, {5, 6}, {7, 8}, {9, 10}, {11, 12}, {13, 14}};
  s.limbs = {{2, 0},  {0, 1}, {0, 3}, {0, 4}, {3, 7},  {7, 11}, {4, 8},
             {8, 12}, {1, 5}, {1, 6}, {5, 9}, {9, 13}, {6, 10}, {10, 14}};
  s.columns = {{"Head", {2}},   {"Sho", {3, 4}},   {"Elb", {7, 8}},  {"Wri", {11, 12}},
               {"Hip", {5, 6}}, {"Knee", {9, 10}}, {"Ank", {13, 14}}};
  s.torso = {4, 5};
  return s;
}

}  // namespace

int Skeleton::flipped(int joint) const {
  for (const auto& p : flip_pairs) {
    if (p.first == joint) return p.second;
    if (p.second == joint) return p.first;
  }
  return joint;
}

std::vector<int> Skeleton::table_joints() const {
  std::vector<int> out;
  for (const auto& col : columns)
    for (int j : col.second) out.push_back(j);
  return out;
}

const Skeleton& skeleton_for(DatasetKind dataset) {
  static const Skeleton penn = make_penn();
  static const Skeleton jhmdb = make_jhmdb();
  return dataset == DatasetKind::jhmdb ? jhmdb : penn;
}

}  // namespace dkd
