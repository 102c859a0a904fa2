#include "dkd/eval/eval_command.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "dkd/data/box_tracker.h"
#include "dkd/data/dataset.h"
#include "dkd/eval/complexity.h"
#include "dkd/eval/model_eval.h"
#include "dkd/eval/plot.h"
#include "dkd/eval/predictions.h"
#include "dkd/eval/report.h"
#include "dkd/eval/seed_table.h"
#include "dkd/eval/speed_bench.h"
#include "dkd/models/model_set.h"
#include "dkd/models/checkpoint.h"
#include "dkd/util/error.h"
#include "dkd/util/blas.h"
#include "dkd/util/logging.h"
#include "dkd/config/runtime_setup.h"
#include "dkd/util/runtime.h"
#include "dkd/util/strings.h"

namespace fs = std::filesystem;

namespace dkd {

namespace {

struct ModelEvaluation {
  EvalResult result;
  ComplexityReport report;
  nlohmann::json complexity;
  SpeedInfo speed;
  double gmacs_per_frame = 0.0;
  double params = 0.0;
  RunTotals totals;
};

/// Complexity of the evaluated model. For DKD with keyframe re-initialisation
/// the per-frame average uses the initializer runs actually made.
nlohmann::json complexity_of(const ComplexityReport& report, ModelKind kind, const RunTotals& totals,
                             double* gmacs_per_frame, double* params) {
  nlohmann::json j = complexity_to_json(report);
  j["model"] = name_of(kind);
  if (kind == ModelKind::dkd) {
    *gmacs_per_frame = report.macs_per_frame * 1e-9;
    *params = static_cast<double>(report.params_total);
    if (totals.frames > 0) {
      // Every initializer run replaces a kernel step with initializer + encoder.
      const double frames = static_cast<double>(totals.frames);
      const double runs = static_cast<double>(totals.initializer_runs);
      const double measured = (runs * report.macs_first_frame + (frames - runs) * report.macs_per_frame) / frames;
      j["gmacs_per_frame_measured_average"] = measured * 1e-9;
      j["initializer_runs"] = totals.initializer_runs;
      j["frames"] = totals.frames;
    }
  } else {
    const auto& c = report.component(kind == ModelKind::initializer ? "initializer" : "baseline");
    *gmacs_per_frame = c.gmacs();
    *params = static_cast<double>(c.params);
    j["gmacs_per_frame"] = c.gmacs();
    j["gmacs_first_frame"] = c.gmacs();
    j["params_total"] = c.params;
    j["params"] = c.params;
  }
  return j;
}

ModelEvaluation evaluate_model(const Config& config, const std::string& checkpoint, ModelKind kind,
                               const std::vector<VideoRecord>& videos, const std::string& split_label, bool speed,
                               Predictions* predictions) {
  const c10::Device device = apply_runtime(config.runtime);
  ModelSet models = build_model_set(config, device);
  // No checkpoint: an imported initializer (BlazePose) with its own weights.
  auto parts = models.modules_for(kind);
  // Tracked boxes from the box network (infer.box_rule: network): the checkpoint's box stage.
  const bool box_net = config.eval.boxes == BoxSource::tracked && config.infer.box_rule == BoxRuleKind::network;
  if (box_net) {
    if (checkpoint.empty())
      throw UsageError(
          "infer.box_rule network with eval.boxes tracked needs a checkpoint with a box network "
          "(train.stages: [..., box])");
    parts["box"] = models.box.ptr().get();
  }
  if (!checkpoint.empty()) load_model_weights(checkpoint, parts);
  EvalModel model = EvalModel::of(models, kind);
  model.set_packed_inference(config.infer);
  PckEvaluator evaluator(config.data.dataset, pck_options_of(config, split_label));
  ModelEvaluation out;
  spdlog::info(
      "evaluating {} ({}) on {} videos of {}",
      checkpoint.empty() ? std::string(name_of(config.model.initializer.network)) + " (imported weights)" : checkpoint,
      name_of(kind), videos.size(), config.data.root);
  out.totals = run_model_on_videos(model, videos, config, device, evaluator, 0, 1, predictions);
  out.result = evaluator.evaluate();
  out.report = measure_complexity(config);
  out.complexity = complexity_of(out.report, kind, out.totals, &out.gmacs_per_frame, &out.params);
  if (box_net) {
    // Every frame after the first also runs the box network (on the mirrored
    // crop too, and again when refining): part of what a tracked frame costs.
    const double box_gmacs =
        static_cast<double>(models.box->macs()) * 1e-9 * std::max(1, box_network_runs_per_frame(config.infer));
    out.complexity["gmacs_box_network"] = box_gmacs;
    spdlog::info("box network: {:.4f} GMACs per frame (not in gmacs_per_frame)", box_gmacs);
  }
  if (speed) out.speed = measure_speed(model, config, device);
  return out;
}

nlohmann::json speed_json(const ModelEvaluation& e, bool speed) { return speed ? speed_to_json(e.speed) : nullptr; }

void write_text(const std::string& path, const std::string& text) {
  if (path.empty()) return;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) ensure_writable_dir(parent.string());
  write_file_atomic(path, text);
  spdlog::info("wrote {}", path);
}

}  // namespace

ModelKind default_model_kind(const Config& config) {
  const auto& stages = config.train.stages;
  if (runs_stage(config.train, StageKind::dkd) || stages.empty()) return ModelKind::dkd;
  // The last stage that trains a pose model (the box stage trains none).
  for (auto it = stages.rbegin(); it != stages.rend(); ++it)
    if (const auto kind = pose_model_of(*it)) return *kind;
  return ModelKind::dkd;
}

int run_checkpoint_eval(const Config& base, const EvalCommandOptions& options_in) {
  EvalCommandOptions options = options_in;
  const ModelKind kind =
      options.model.empty() ? default_model_kind(base) : parse_kind<ModelKind>(options.model, "--model");
  // An imported initializer (model.initializer.network: blazepose_*) evaluated on its
  // own needs no checkpoint: its weights come with it.
  const bool imported = kind == ModelKind::initializer && base.model.initializer.network != NetworkKind::resnet;
  if (options.checkpoints.empty() && !imported)
    throw UsageError(
        "--checkpoint FILE is required to evaluate a model (only --model initializer with "
        "model.initializer.network: blazepose_* runs without one)");
  const std::string kind_name = name_of(kind);

  // Which splits: a data set has one test split (Penn Action) or numbered ones (Sub-JHMDB's three).
  const DatasetSpec& dataset = dataset_spec(base.data.dataset);
  const std::vector<std::string> splits = eval_splits(dataset, options.split, base.data.split, "--split");
  if (options.checkpoints.empty()) options.checkpoints.assign(splits.size(), "");
  if (options.checkpoints.size() != splits.size())
    throw UsageError("--checkpoint: " + std::to_string(splits.size()) + " checkpoint(s) needed for --split " +
                     (options.split.empty() ? "test" : options.split) + " (comma-separated, one per split), got " +
                     std::to_string(options.checkpoints.size()));

  std::vector<EvalResult> results;
  ModelEvaluation last;
  Predictions predictions;
  predictions.dataset = base.data.dataset;
  predictions.num_joints = base.model.num_joints;
  for (std::size_t i = 0; i < splits.size(); ++i) {
    Config config = dataset.num_splits > 0 ? apply_overrides(base, {"data.split=" + splits[i]}) : base;
    const auto videos = load_split(config.data, split_of(config.eval.split));
    if (videos.empty())
      throw DataError(config.data.root, std::string("the ") + name_of(config.eval.split) + " split has no videos");
    last = evaluate_model(config, options.checkpoints[i], kind, videos, splits[i],
                          options.speed && i + 1 == splits.size(), &predictions);
    results.push_back(last.result);
  }
  const EvalResult result = results.size() > 1 ? average_splits(results) : results.front();
  const nlohmann::json speed = speed_json(last, options.speed);
  // The console shows the complexity as its table; the files carry the JSON.
  std::cout << format_report(result, false, nullptr, speed, kind_name) << "\n"
            << "Complexity of the evaluated model (" << kind_name << "): " << last.gmacs_per_frame
            << " GMACs per frame, " << last.params * 1e-6 << " M parameters";
  if (last.complexity.contains("gmacs_per_frame_measured_average"))
    std::cout << "; measured per-frame average with " << last.totals.initializer_runs << " initializer run(s) over "
              << last.totals.frames << " frames: " << last.complexity["gmacs_per_frame_measured_average"].get<double>()
              << " GMACs";
  std::cout << "\n\n" << format_complexity_table(last.report) << std::flush;
  nlohmann::json report_json = result_to_json(result, last.complexity, speed);
  if (has_box_offset(base.eval)) {
    // How much of a misplaced crop shows up in the predictions (docs/method.md, "Tracked boxes").
    std::ostringstream line;
    line << "Crop anchoring: boxes moved by (" << base.eval.box_offset_x << ", " << base.eval.box_offset_y
         << ") of their size; the predictions moved by " << last.totals.anchoring
         << " of that (0 = they stay on the person, 1 = they move with the crop)";
    std::cout << "\n" << line.str() << "\n" << std::flush;
    report_json["box_offset"] = {
        {"x", base.eval.box_offset_x},
        {"y", base.eval.box_offset_y},
        {"boxes", name_of(base.eval.boxes)},
        {"anchoring", std::isnan(last.totals.anchoring) ? nlohmann::json() : nlohmann::json(last.totals.anchoring)}};
  }
  if (!options.json_path.empty()) write_text(options.json_path, report_json.dump(2) + "\n");
  write_text(options.md_path, format_report(result, true, last.complexity, speed, kind_name));
  if (!options.predictions_path.empty()) {
    if (splits.size() > 1)
      spdlog::warn("--save-predictions with --split all: the three splits' test videos are written together");
    write_predictions(options.predictions_path, predictions);
    spdlog::info("wrote {}", options.predictions_path);
  }
  if (!options.plot_dir.empty()) {
    ensure_writable_dir(options.plot_dir);
    const std::string title = base.data.dataset + " " + (options.split.empty() ? "test" : options.split);
    plot_pck_curves((fs::path(options.plot_dir) / "pck_curve.png").string(), {curve_of(result, kind_name)}, title);
    plot_smoothness((fs::path(options.plot_dir) / "smoothness.png").string(), result.smoothness, title);
    plot_pck_by_frame((fs::path(options.plot_dir) / "pck_by_frame.png").string(), {{kind_name, result.by_frame}},
                      "PCK by frame index, " + title);
    spdlog::info("wrote {}/pck_curve.png, smoothness.png and pck_by_frame.png", options.plot_dir);
    if (result.box_drift.measured()) {
      plot_box_drift((fs::path(options.plot_dir) / "box_drift.png").string(), result.box_drift,
                     "Box drift (tracked boxes), " + title);
      spdlog::info("wrote {}/box_drift.png", options.plot_dir);
    }
  }
  return 0;
}

int run_compare(const std::vector<std::string>& specs, const std::vector<std::string>& overrides,
                const EvalCommandOptions& options) {
  if (specs.empty()) throw UsageError("--compare needs at least one name=CONFIG:CHECKPOINT");
  std::vector<ComparisonRow> rows;
  std::vector<NamedCurve> curves;
  std::vector<NamedFrameCurve> frame_curves;
  nlohmann::json doc = nlohmann::json::object();
  std::vector<VideoRecord> videos;
  std::string data_key;
  for (const std::string& spec : specs) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UsageError("--compare: expected name=CONFIG:CHECKPOINT[:MODEL], got '" + spec + "'");
    const std::string name = spec.substr(0, eq);
    const auto parts = split_list(spec.substr(eq + 1), ':');
    if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty())
      throw UsageError("--compare: expected name=CONFIG:CHECKPOINT[:MODEL], got '" + spec + "'");
    const Config config = load_config(parts[0], overrides);
    const ModelKind kind =
        parts.size() == 3 ? parse_kind<ModelKind>(parts[2], spec + ": MODEL") : default_model_kind(config);
    // Every model is evaluated on the same videos: those of the first config.
    const std::string key = config.data.dataset + ":" + config.data.root + ":" + std::to_string(config.data.split);
    if (videos.empty()) {
      videos = load_split(config.data, split_of(config.eval.split));
      data_key = key;
    } else if (key != data_key) {
      throw UsageError("--compare: " + name + " uses data " + key + " but the first model uses " + data_key +
                       "; compare models on the same split");
    }
    const ModelEvaluation e =
        evaluate_model(config, parts[1], kind, videos, name_of(config.eval.split), options.speed, nullptr);
    ComparisonRow row;
    row.name = name;
    row.pck = e.result.pck;
    row.set_torso(e.result.pck_torso);
    row.accel_ratio = e.result.smoothness.ratio();
    row.gmacs_per_frame = e.gmacs_per_frame;
    row.params = e.params;
    if (options.speed) row.ms_per_frame = e.speed.ms_per_frame;
    rows.push_back(row);
    curves.push_back(curve_of(e.result, name));
    frame_curves.push_back({name, e.result.by_frame});
    doc[name] = result_to_json(e.result, e.complexity, speed_json(e, options.speed));
  }
  std::cout << format_comparison(rows, false) << std::flush;
  if (!options.json_path.empty()) write_text(options.json_path, doc.dump(2) + "\n");
  write_text(options.md_path, format_comparison(rows, true));
  if (!options.plot_dir.empty()) {
    ensure_writable_dir(options.plot_dir);
    plot_pck_curves((fs::path(options.plot_dir) / "pck_curves.png").string(), curves, "PCK comparison");
    plot_pck_by_frame((fs::path(options.plot_dir) / "pck_by_frame.png").string(), frame_curves, "PCK by frame index");
  }
  return 0;
}

int run_seed_summary(const std::vector<std::string>& specs, const EvalCommandOptions& options) {
  std::vector<SeedRow> rows;
  for (const std::string& spec : specs) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      throw UsageError("--seeds: expected name=REPORT.json,REPORT.json,..., got '" + spec + "'");
    const auto files = split_list(spec.substr(eq + 1), ',');
    std::vector<nlohmann::json> docs;
    for (const auto& f : files) {
      try {
        docs.push_back(nlohmann::json::parse(read_file(f)));
      } catch (const nlohmann::json::exception& e) {
        throw DataError(f, std::string("not a JSON report: ") + e.what());
      }
    }
    rows.push_back(seed_row_from_reports(spec.substr(0, eq), docs, files));
  }
  std::cout << format_seed_tables(rows, false) << std::flush;
  write_text(options.md_path, format_seed_tables(rows, true));
  if (!options.json_path.empty()) write_text(options.json_path, seed_rows_to_json(rows).dump(2) + "\n");
  return 0;
}

int run_bench(const Config& config, const std::string& json_path, const std::string& md_path) {
  const SpeedBench bench = measure_speed_bench(config);
  std::cout << format_speed_bench(bench, false) << std::flush;
  if (!json_path.empty()) write_text(json_path, speed_bench_to_json(bench).dump(2) + "\n");
  write_text(md_path, format_speed_bench(bench, true));
  return 0;
}

}  // namespace dkd
