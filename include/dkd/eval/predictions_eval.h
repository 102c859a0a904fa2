#pragma once
// Model-free evaluation of an external predictions file (dkd_eval --predictions).
//
//   dkd_eval --predictions FILE --dataset penn|jhmdb --root DIR [--split N|all] [--json] [--md]
//
// The tool loads the test records and calls run_predictions_eval(). With
// several record sets (Sub-JHMDB --split all) each split is evaluated on its
// own and the report is average_splits() of the three results, as papers do.
#include <iosfwd>
#include <string>
#include <vector>

#include "dkd/data/video.h"
#include "dkd/eval/pck.h"
#include "dkd/eval/predictions.h"

namespace dkd {

struct DataConfig;

struct PredictionsEvalOptions {
  /// One predictions file for every split, or one per split (in split order).
  std::vector<std::string> predictions_paths;
  double threshold = 0.2;            ///< eval.pck_threshold
  bool json = false;                 ///< print result_to_json() (indent 2) instead of the table
  bool markdown = false;             ///< print the Markdown report instead of the console table
  std::string json_path;             ///< also write the JSON document here ("" = no)
  std::string curve_png;             ///< also draw the PCK curve here ("" = no)
  std::string smoothness_png;        ///< also draw the smoothness figure here ("" = no)
  std::string name = "predictions";  ///< label of the curve / table rows
};

/// Evaluates `preds` on `records` after validate_predictions() (DataError naming
/// `origin` and the video on a mismatch). Videos not in `records` are ignored.
EvalResult evaluate_predictions(const std::vector<VideoRecord>& records, const Predictions& preds,
                                const PckOptions& options, const std::string& origin);

/// Evaluates one or more record sets (labels: e.g. {"test"} or {"1", "2", "3"});
/// averages them with average_splits() when there are several. Prints the
/// chosen format to `out`, writes the optional files. Returns the exit code (0);
/// throws dkd::Error / DataError / UsageError on problems (run_tool maps them).
int run_predictions_eval(const std::vector<std::vector<VideoRecord>>& split_records,
                         const std::vector<std::string>& split_labels, const PredictionsEvalOptions& options,
                         std::ostream& out, EvalResult* result = nullptr);

/// Single record set, labelled "test".
int run_predictions_eval(const std::vector<VideoRecord>& records, const PredictionsEvalOptions& options,
                         std::ostream& out, EvalResult* result = nullptr);

/// Loads the test subset with load_split(data, "test") and evaluates it.
/// `split`: "" = data.split as is (Penn ignores it), "1".."3", or "all" (jhmdb
/// only: splits 1-3 averaged).
int run_predictions_eval(const DataConfig& data, const std::string& split, const PredictionsEvalOptions& options,
                         std::ostream& out, EvalResult* result = nullptr);

}  // namespace dkd
