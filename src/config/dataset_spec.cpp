#include "dkd/config/dataset_spec.h"

#include <algorithm>
#include <deque>
#include <mutex>

#include "dkd/util/error.h"

namespace dkd {

bool counts_visible_only(PckJoints rule) {
  switch (rule) {
    case PckJoints::visible:
      return true;
    case PckJoints::all:
      return false;
  }
  return true;
}

const char* pck_joints_text(PckJoints rule) { return counts_visible_only(rule) ? "visible joints only" : "all joints"; }

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

std::string Skeleton::table_joints_text() const {
  const std::vector<int> in_table = table_joints();
  std::string excluded;
  for (int j = 0; j < num_joints(); ++j)
    if (std::find(in_table.begin(), in_table.end(), j) == in_table.end())
      excluded += (excluded.empty() ? "" : ", ") + joint_names[static_cast<std::size_t>(j)];
  return std::to_string(in_table.size()) + " joints" + (excluded.empty() ? "" : " (" + excluded + " excluded)");
}

namespace {

void check_row(const DatasetSpec& s) {
  const std::string who = "data set '" + s.name + "'";
  if (s.name.empty()) throw UsageError("a data set needs a name");
  if (s.title.empty()) throw UsageError(who + ": needs a title");
  if (!s.scan) throw UsageError(who + ": needs a reader (scan)");
  const int J = s.skeleton.num_joints();
  if (J < 1) throw UsageError(who + ": needs at least one joint");
  if (s.num_splits < 0) throw UsageError(who + ": num_splits must be 0 or more");
  const auto in_range = [&](int j, const std::string& what) {
    if (j < 0 || j >= J)
      throw UsageError(who + ": " + what + " names joint " + std::to_string(j) + " of " + std::to_string(J));
  };
  for (const auto& p : s.skeleton.flip_pairs) in_range(p.first, "a flip pair"), in_range(p.second, "a flip pair");
  for (const auto& p : s.skeleton.limbs) in_range(p.first, "a limb"), in_range(p.second, "a limb");
  if (s.skeleton.columns.empty()) throw UsageError(who + ": needs at least one PCK table column");
  for (const auto& c : s.skeleton.columns) {
    if (c.second.empty()) throw UsageError(who + ": PCK column '" + c.first + "' has no joints");
    for (int j : c.second) in_range(j, "PCK column '" + c.first + "'");
  }
  in_range(s.skeleton.torso.first, "the torso pair");
  in_range(s.skeleton.torso.second, "the torso pair");
}

struct Registry {
  std::mutex mutex;
  std::deque<DatasetSpec> rows;  // a deque: references handed out stay valid as rows are added

  Registry() {
    for (auto& row : builtin_datasets()) {
      check_row(row);
      rows.push_back(std::move(row));
    }
  }
  static Registry& get() {
    static Registry registry;
    return registry;
  }
};

}  // namespace

void register_dataset(DatasetSpec spec) {
  check_row(spec);
  Registry& r = Registry::get();
  std::lock_guard<std::mutex> lock(r.mutex);
  for (const auto& row : r.rows)
    if (row.name == spec.name) throw UsageError("data set '" + spec.name + "' is registered already");
  r.rows.push_back(std::move(spec));
}

const DatasetSpec& dataset_spec(const std::string& name) {
  Registry& r = Registry::get();
  std::lock_guard<std::mutex> lock(r.mutex);
  for (const auto& row : r.rows)
    if (row.name == name) return row;
  std::string names;
  for (std::size_t i = 0; i < r.rows.size(); ++i)
    names += (i == 0 ? "" : i + 1 == r.rows.size() ? " or " : ", ") + r.rows[i].name;
  throw ConfigError("data.dataset: expected " + names + ", got '" + name + "'");
}

std::vector<std::string> dataset_names() {
  Registry& r = Registry::get();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<std::string> out;
  for (const auto& row : r.rows) out.push_back(row.name);
  return out;
}

std::vector<std::string> numbered_splits(const DatasetSpec& spec, const std::string& choice,
                                         const std::string& option) {
  if (spec.num_splits == 0)
    throw UsageError(option + " " + choice + ": " + spec.title + " (data.dataset: " + spec.name +
                     ") has one test split, not numbered ones");
  std::vector<std::string> all;
  for (int s = 1; s <= spec.num_splits; ++s) all.push_back(std::to_string(s));
  if (choice == "all") return all;
  if (std::find(all.begin(), all.end(), choice) == all.end())
    throw UsageError(option + ": expected test, all or a split from 1 to " + std::to_string(spec.num_splits) + " of " +
                     spec.title + ", got '" + choice + "'");
  return {choice};
}

std::string default_eval_split(const DatasetSpec& spec, int split) {
  return spec.num_splits > 0 ? std::to_string(split) : std::string("test");
}

std::vector<std::string> eval_splits(const DatasetSpec& spec, const std::string& choice, int data_split,
                                     const std::string& option) {
  if (choice.empty() || choice == "test") return {default_eval_split(spec, data_split)};
  return numbered_splits(spec, choice, option);
}

}  // namespace dkd
