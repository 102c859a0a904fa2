#include "dkd/eval/predictions_eval.h"

#include <ostream>

#include <spdlog/spdlog.h>

#include "dkd/config/config.h"
#include "dkd/data/dataset.h"
#include "dkd/eval/plot.h"
#include "dkd/eval/report.h"
#include "dkd/util/error.h"
#include "dkd/util/runtime.h"

namespace dkd {

EvalResult evaluate_predictions(const std::vector<VideoRecord>& records, const Predictions& preds,
                                const PckOptions& options, const std::string& origin) {
  const int extra = validate_predictions(preds, records, origin);
  if (extra > 0) spdlog::info("{}: {} predicted videos are not in the evaluated split (ignored)", origin, extra);
  PckEvaluator ev(preds.dataset, options);
  for (const auto& r : records) ev.process(r, preds.videos.at(r.id));
  return ev.evaluate();
}

int run_predictions_eval(const std::vector<std::vector<VideoRecord>>& split_records,
                         const std::vector<std::string>& split_labels, const PredictionsEvalOptions& options,
                         std::ostream& out, EvalResult* result_out) {
  const std::size_t n = split_records.size();
  if (n == 0) throw UsageError("run_predictions_eval: no record sets to evaluate");
  if (split_labels.size() != n)
    throw UsageError("run_predictions_eval: " + std::to_string(n) + " record sets but " +
                     std::to_string(split_labels.size()) + " split labels");
  const auto& paths = options.predictions_paths;
  if (paths.size() != 1 && paths.size() != n)
    throw UsageError("give one predictions file, or one per split (" + std::to_string(n) + "); got " +
                     std::to_string(paths.size()));
  std::vector<EvalResult> results;
  Predictions shared;
  if (paths.size() == 1) shared = read_predictions(paths[0]);
  for (std::size_t s = 0; s < n; ++s) {
    if (split_records[s].empty())
      throw DataError(paths.size() == 1 ? paths[0] : paths[s],
                      "split " + split_labels[s] + " has no test videos to evaluate");
    Predictions own;
    if (paths.size() != 1) own = read_predictions(paths[s]);
    const Predictions& preds = paths.size() == 1 ? shared : own;
    PckOptions po;
    po.threshold = options.threshold;
    po.split = split_labels[s];
    results.push_back(evaluate_predictions(split_records[s], preds, po, paths.size() == 1 ? paths[0] : paths[s]));
  }
  const EvalResult result = n == 1 ? results[0] : average_splits(results);
  const nlohmann::json doc = result_to_json(result);
  if (!options.json_path.empty()) write_file_atomic(options.json_path, doc.dump(2) + "\n");
  const std::string title = result.dataset + " split " + result.split + ": " + options.name;
  if (!options.curve_png.empty())
    plot_pck_curves(options.curve_png, {curve_of(result, options.name)}, "PCK curve, " + title);
  if (!options.smoothness_png.empty())
    plot_smoothness(options.smoothness_png, result.smoothness, "Smoothness, " + title);
  if (options.json)
    out << doc.dump(2) << "\n";
  else
    out << format_report(result, options.markdown, nullptr, nullptr, "");
  if (result_out) *result_out = result;
  return 0;
}

int run_predictions_eval(const std::vector<VideoRecord>& records, const PredictionsEvalOptions& options,
                         std::ostream& out, EvalResult* result) {
  return run_predictions_eval(std::vector<std::vector<VideoRecord>>{records}, {"test"}, options, out, result);
}

int run_predictions_eval(const DataConfig& data, const std::string& split, const PredictionsEvalOptions& options,
                         std::ostream& out, EvalResult* result) {
  std::vector<std::vector<VideoRecord>> sets;
  std::vector<std::string> labels;
  const DatasetSpec& dataset = dataset_spec(data.dataset);
  for (const auto& s : eval_splits(dataset, split, data.split, "--split")) {
    DataConfig c = data;
    if (s != "test") c.split = std::stoi(s);
    sets.push_back(load_split(c, SplitKind::test));
    labels.push_back(s);
  }
  return run_predictions_eval(sets, labels, options, out, result);
}

}  // namespace dkd
