#pragma once
// The data sets the library knows, one row (DatasetSpec) each: the joint set,
// how PCK counts and normalises, the splits, the reader, the report's wording.
// Everything that differs between data sets is looked up here by the name in
// data.dataset; no other file asks which data set it is. A new data set is one
// reader file that defines its row plus one line in builtin_datasets()
// (src/data/datasets.cpp), or register_dataset() at run time (the tests add a
// third data set that way). docs/architecture.md, "Adding a data set".
//
// The row lives in the config layer because the config (data.dataset, the
// model's joint count) and the models (joint names) need it; the reader it
// points to lives in the data layer and is reached only through the pointer.
#include <string>
#include <utility>
#include <vector>

namespace dkd {

struct DataConfig;
struct DatasetScan;

/// Which joints PCK counts in a frame.
enum class PckJoints {
  visible,  ///< the joints the annotation marks visible (Penn Action)
  all,      ///< every joint, visible or not (Sub-JHMDB: its files have no visibility)
};

/// True when PCK counts only the joints marked visible.
bool counts_visible_only(PckJoints rule);
/// "visible joints only" or "all joints", for the report's note on the norm.
const char* pck_joints_text(PckJoints rule);

/// The joint set of a data set: names, left/right flip pairs, limbs for
/// drawing, the PCK table's columns and the torso pair.
struct Skeleton {
  std::vector<std::string> joint_names;         ///< in file order
  std::vector<std::pair<int, int>> flip_pairs;  ///< (left, right) or (right, left) as in the file
  std::vector<std::pair<int, int>> limbs;       ///< joint pairs joined when drawing
  /// PCK table columns in order (the papers' Head, Sho, Elb, Wri, Hip, Knee, Ank
  /// for the built-in sets); each lists the joints averaged into it.
  std::vector<std::pair<std::string, std::vector<int>>> columns;
  std::pair<int, int> torso;  ///< shoulder and opposite hip, for torso-normalised PCK

  int num_joints() const { return static_cast<int>(joint_names.size()); }
  /// Index of the joint mirrored by a horizontal flip (itself when unpaired).
  int flipped(int joint) const;
  /// Joints that appear in the PCK table, in column order (JHMDB's neck and belly do not).
  std::vector<int> table_joints() const;
  /// "13 joints" or "13 joints (neck, belly excluded)": what the table's means average over.
  std::string table_joints_text() const;
};

/// One data set: one row of the table.
struct DatasetSpec {
  std::string name;   ///< data.dataset, the predictions file's "dataset"
  std::string title;  ///< in messages and reports ("Penn Action")
  Skeleton skeleton;
  PckJoints pck_joints = PckJoints::visible;
  /// 0: one fixed train/test split; N > 0: numbered splits 1..N chosen by
  /// data.split (Sub-JHMDB's three), which dkd_eval --split all averages.
  int num_splits = 0;
  /// Reads the folder data.root: every good video of both subsets, and every
  /// problem (one per bad video). Throws DataError only when the folder itself
  /// is unusable (with where to get the data set and how to lay it out).
  DatasetScan (*scan)(const DataConfig& data) = nullptr;
};

/// Adds a data set (UsageError when the name is taken or the row is incomplete:
/// no name, no joints, no reader, a column, flip pair, limb or torso joint out of range).
void register_dataset(DatasetSpec spec);

/// The row of `name`; ConfigError naming data.dataset, the registered names and
/// the nearest one when there is none.
const DatasetSpec& dataset_spec(const std::string& name);

/// Every registered name, built-in ones first.
std::vector<std::string> dataset_names();

/// The built-in rows (Penn Action, Sub-JHMDB), defined beside their readers in
/// the data layer (src/data/datasets.cpp).
std::vector<DatasetSpec> builtin_datasets();

/// The numbered splits that `choice` names: "all" (every one) or one number,
/// as strings; UsageError naming `option` for a data set without numbered
/// splits or a number out of range.
std::vector<std::string> numbered_splits(const DatasetSpec& spec, const std::string& choice, const std::string& option);

/// The data set's split that dkd_eval scores by default: "test", or data.split's number.
std::string default_eval_split(const DatasetSpec& spec, int split);

/// The splits an evaluation scores for the choice `choice` of option `option`:
/// "" or "test" gives default_eval_split(spec, data_split), otherwise numbered_splits.
std::vector<std::string> eval_splits(const DatasetSpec& spec, const std::string& choice, int data_split,
                                     const std::string& option);

}  // namespace dkd
