// The built-in data sets' rows (config/dataset_spec.h): one row per data set,
// beside the readers they point to. Adding a data set: a reader (a function
// DatasetScan(const DataConfig&)) and a row here, or register_dataset() from
// outside the library.
#include "dkd/config/dataset_spec.h"
#include "dkd/config/schema.h"
#include "dkd/data/penn_action.h"
#include "dkd/data/sub_jhmdb.h"

namespace dkd {

namespace {

DatasetSpec penn_action() {
  DatasetSpec s;
  s.name = "penn";
  s.title = "Penn Action";
  Skeleton& k = s.skeleton;
  k.joint_names = {"head",  "l_shoulder", "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist",
                   "l_hip", "r_hip",      "l_knee",     "r_knee",  "l_ankle", "r_ankle"};
  k.flip_pairs = {{1, 2}, {3, 4}, {5, 6}, {7, 8}, {9, 10}, {11, 12}};
  k.limbs = {{0, 1}, {0, 2}, {1, 2}, {1, 3}, {3, 5},  {2, 4},  {4, 6},
             {1, 7}, {2, 8}, {7, 8}, {7, 9}, {9, 11}, {8, 10}, {10, 12}};
  k.columns = {{"Head", {0}},   {"Sho", {1, 2}},   {"Elb", {3, 4}},  {"Wri", {5, 6}},
               {"Hip", {7, 8}}, {"Knee", {9, 10}}, {"Ank", {11, 12}}};
  k.torso = {2, 7};
  s.pck_joints = PckJoints::visible;
  s.num_splits = 0;
  s.scan = [](const DataConfig& data) { return PennAction::scan(data.root); };
  return s;
}

DatasetSpec sub_jhmdb() {
  DatasetSpec s;
  s.name = "jhmdb";
  s.title = "Sub-JHMDB";
  Skeleton& k = s.skeleton;
  k.joint_names = {"neck",    "belly",  "head",   "r_shoulder", "l_shoulder", "r_hip",   "l_hip",  "r_elbow",
                   "l_elbow", "r_knee", "l_knee", "r_wrist",    "l_wrist",    "r_ankle", "l_ankle"};
  k.flip_pairs = {{3, 4}, {5, 6}, {7, 8}, {9, 10}, {11, 12}, {13, 14}};
  k.limbs = {{2, 0},  {0, 1}, {0, 3}, {0, 4}, {3, 7},  {7, 11}, {4, 8},
             {8, 12}, {1, 5}, {1, 6}, {5, 9}, {9, 13}, {6, 10}, {10, 14}};
  k.columns = {{"Head", {2}},   {"Sho", {3, 4}},   {"Elb", {7, 8}},  {"Wri", {11, 12}},
               {"Hip", {5, 6}}, {"Knee", {9, 10}}, {"Ank", {13, 14}}};
  k.torso = {4, 5};
  // Sub-JHMDB's files carry no visibility: the papers count every joint.
  s.pck_joints = PckJoints::all;
  s.num_splits = 3;
  s.scan = [](const DataConfig& data) { return SubJhmdb::scan(data.root, data.split, data.jhmdb_box_margin); };
  return s;
}

}  // namespace

std::vector<DatasetSpec> builtin_datasets() { return {penn_action(), sub_jhmdb()}; }

}  // namespace dkd
