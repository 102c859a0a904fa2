// dkd_eval: PCK tables as the papers compute them, FLOPs, parameters and speed;
// external predictions; side-by-side comparisons.
#include <iostream>

#include "dkd/config/config.h"
#include "dkd/data/dataset.h"
#include "dkd/eval/complexity.h"
#include "dkd/eval/eval_command.h"
#include "dkd/eval/predictions_eval.h"
#include "dkd/eval/report.h"
#include "dkd/app/cli.h"
#include "dkd/util/error.h"
#include "dkd/util/logging.h"
#include "dkd/util/runtime.h"
#include "dkd/util/strings.h"

namespace {

// A comma list from the command line; a trailing comma (or an empty option) adds no entry.
std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out = dkd::split_list(text, ',');
  if (out.back().empty()) out.pop_back();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "dkd_eval: evaluate pose models as the video-pose papers do.\n"
      "  dkd_eval --config C --checkpoint P [--split test|1|2|3|all] [--json F] [--md F] [--save-predictions F]\n"
      "  dkd_eval --flops --config C [--json F]          complexity table, no data or checkpoint needed\n"
      "  dkd_eval --bench --config C                     speed of DKD and the per-frame baselines (random input)\n"
      "  dkd_eval --predictions F --dataset penn|jhmdb --root DIR [--split N|all]\n"
      "  dkd_eval --compare name=C:P[:MODEL] ...         several models side by side\n"
      "  dkd_eval --seeds name=a.json,b.json,c.json ...  mean ± sd over runs that differ only in their seed"};
  dkd::ConfigOptions config_options;
  dkd::add_config_options(app, config_options, false);
  dkd::EvalCommandOptions options;
  std::string checkpoints;
  bool flops = false;
  bool bench = false;
  bool no_speed = false;
  std::string predictions;
  std::string dataset;
  std::string root;
  std::vector<std::string> compare;
  std::vector<std::string> seeds;
  app.add_option("--checkpoint", checkpoints, "checkpoint to evaluate; for --split all: a.pt,b.pt,c.pt");
  app.add_option("--split", options.split,
                 "test (default), a numbered split (Sub-JHMDB: 1|2|3), or all (their average)");
  app.add_option("--model", options.model,
                 "model in the checkpoint: dkd, initializer (per-frame large) or baseline (per-frame small)");
  app.add_option("--json", options.json_path, "write the report as JSON");
  app.add_option("--md", options.md_path, "write the report as Markdown");
  app.add_option("--save-predictions", options.predictions_path, "write the predictions (see README for the format)");
  app.add_option("--plots", options.plot_dir,
                 "write pck_curve.png, smoothness.png and pck_by_frame.png into this folder (and box_drift.png with "
                 "eval.boxes=tracked)");
  app.add_flag("--no-speed", no_speed, "skip the speed measurement");
  app.add_flag("--flops", flops, "print the complexity table (params, GMACs) of the config");
  app.add_flag("--bench", bench, "time DKD and the per-frame baselines on random frames");
  app.add_option("--predictions", predictions, "evaluate a predictions file without a model");
  dkd::add_dataset_option(app, "--dataset", dataset, "data set of --predictions");
  app.add_option("--root", root, "data set folder for --predictions");
  app.add_option("--compare", compare, "name=CONFIG:CHECKPOINT[:MODEL], repeatable or several")->expected(1, -1);
  app.add_option("--seeds", seeds,
                 "name=REPORT.json,REPORT.json,...: dkd_eval --json reports of one model trained "
                 "with different seeds; mean ± sd, compared with the first name")
      ->expected(1, -1);
  if (const int code = dkd::parse_command_line(app, argc, argv); code >= 0) return code;

  return dkd::run_tool("dkd_eval", [&]() -> int {
    dkd::init_logging("info");
    options.checkpoints = split_commas(checkpoints);
    options.speed = !no_speed;
    if (!compare.empty()) return dkd::run_compare(compare, config_options.overrides, options);
    if (!seeds.empty()) return dkd::run_seed_summary(seeds, options);
    if (!predictions.empty()) {
      if (dataset.empty() || root.empty()) throw dkd::UsageError("--predictions needs --dataset and --root");
      dkd::Config config;
      config.data.dataset = dataset;
      config.model.num_joints = dkd::dataset_spec(config.data.dataset).skeleton.num_joints();
      config.data.root = root;
      config = dkd::apply_overrides(config, config_options.overrides);
      dkd::PredictionsEvalOptions p;
      p.predictions_paths = split_commas(predictions);
      p.threshold = config.eval.pck_threshold;
      p.json_path = options.json_path;
      if (!options.plot_dir.empty()) {
        dkd::ensure_writable_dir(options.plot_dir);
        p.curve_png = options.plot_dir + "/pck_curve.png";
        p.smoothness_png = options.plot_dir + "/smoothness.png";
      }
      const std::string split = options.split == "test" ? "" : options.split;
      dkd::EvalResult result;
      const int code = dkd::run_predictions_eval(config.data, split, p, std::cout, &result);
      if (!options.md_path.empty()) dkd::write_file_atomic(options.md_path, dkd::format_report(result, true));
      return code;
    }
    const dkd::Config config = dkd::load_config(config_options);
    if (config_options.print_config) return 0;
    dkd::init_logging(dkd::name_of(config.runtime.log_level));
    if (flops) return dkd::run_flops_command(config, options.json_path);
    if (bench) return dkd::run_bench(config, options.json_path, options.md_path);
    return dkd::run_checkpoint_eval(config, options);
  });
}
