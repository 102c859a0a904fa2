#pragma once
// dkd_eval's commands as library functions (the tool is a thin main):
// evaluating a checkpoint, comparing several models, and the speed benchmark.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dkd/config/config.h"

namespace dkd {

struct EvalCommandOptions {
  /// One checkpoint, or one per split for Sub-JHMDB --split all (in split order).
  std::vector<std::string> checkpoints;
  /// "" = the config's split (Penn: test; JHMDB: data.split); "1".."3"; "all" (JHMDB).
  std::string split;
  /// Which model of the checkpoint: dkd, initializer (per-frame large) or
  /// baseline (per-frame small); "" = dkd when the config trains it, else its last stage.
  std::string model;
  std::string json_path;         ///< write the JSON report here
  std::string md_path;           ///< write the Markdown report here
  std::string predictions_path;  ///< write predictions (the --predictions format) here
  std::string plot_dir;          ///< write pck_curve.png and smoothness.png here
  bool speed = true;             ///< time the model (median ms per frame)
};

/// The model kind evaluated for a config when none is named.
ModelKind default_model_kind(const Config& config);

/// Evaluates a checkpoint on the test split: prints the paper-style tables,
/// complexity and speed; writes the optional files. Returns the exit code.
int run_checkpoint_eval(const Config& config, const EvalCommandOptions& options);

/// `specs` are name=CONFIG:CHECKPOINT[:MODEL]; all are evaluated on the same
/// split (the first config's data) and shown side by side. `overrides` apply to
/// every config. Returns the exit code.
int run_compare(const std::vector<std::string>& specs, const std::vector<std::string>& overrides,
                const EvalCommandOptions& options);

/// --seeds name=a.json,b.json,...: dkd_eval --json reports of runs that differ
/// only in their seed, as mean ± sd tables (eval/seed_table.h) on the console
/// and in options.md_path / options.json_path. Returns the exit code.
int run_seed_summary(const std::vector<std::string>& specs, const EvalCommandOptions& options);

/// Speed rows (random frames, no data set, random weights) for DKD and the two
/// per-frame networks of `config` (initializer, baseline), with ratios to the initializer,
/// measured in one run: at batch 1, and (when eval.batch_videos > 1) with that many
/// videos stepping together as dkd_eval evaluates them ("streams" in the JSON).
/// Returns the exit code; the JSON goes to `json_path` if set.
int run_bench(const Config& config, const std::string& json_path, const std::string& md_path);

}  // namespace dkd
