// Batched evaluation (eval.batch_videos): videos of different lengths stepped
// together give every video the predictions and keyframes it gets alone, for
// DKD (each video with its own keyframe decisions) and per-frame models, with
// and without the flip test, for both eval.boxes modes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "data_fixtures.h"
#include "dkd/config/config.h"
#include "dkd/data/clip_dataset.h"
#include "dkd/data/heatmap.h"
#include "dkd/data/skeleton.h"
#include "dkd/eval/model_eval.h"
#include "dkd/models/dkd_stream.h"
#include "dkd/models/factory.h"

using namespace dkd;

namespace {

/// Six Penn videos of 5, 2, 7, 4, 6 and 3 frames (groups of 4 drop videos at different steps).
const std::vector<VideoRecord>& written_videos() {
  static const std::vector<VideoRecord> videos = [] {
    const std::string root = test::fresh_dir("batched_eval");
    std::vector<VideoRecord> out;
    const int lengths[] = {5, 2, 7, 4, 6, 3};
    for (int i = 0; i < 6; ++i) {
      const std::string id = "000" + std::to_string(i + 1);
      VideoRecord v = test::make_record("penn", id, i % 2 ? "walk" : "run", lengths[i], false, 96, 80, i + 1);
      test::write_penn_fixture(v, root);
      out.push_back(v);
    }
    return out;
  }();
  return videos;
}

Config eval_config() {
  Config c = test::tiny_config();
  c.runtime.device = "cpu";
  c.data.dataset = "penn";
  // Dark decoding of these near-flat random-weight heatmaps turns last-bit
  // differences of batched convolutions (~4e-7 relative) into ~0.01 px; argmax
  // does not. The heatmaps themselves are compared in StreamsTakeTheirOwnKeyframes.
  c.eval.decode = HeatmapDecoder::argmax;
  return c;
}

struct EvalRun {
  Predictions predictions;
  RunTotals totals;
};

EvalRun run(EvalModel& model, const Config& config, int batch_videos) {
  Config c = config;
  c.eval.batch_videos = batch_videos;
  PckEvaluator evaluator("penn");
  EvalRun r;
  r.totals = run_model_on_videos(model, written_videos(), c, torch::kCPU, evaluator, 0, 1, &r.predictions);
  return r;
}

/// Batch 1 and batch 4 agree: the same totals, and the keypoints within 1e-3 px.
/// The heatmaps agree to rounding (StreamsTakeTheirOwnKeyframes); argmax decoding
/// turns that into the same keypoint unless two pixels (or the two neighbours that
/// set the quarter-pixel shift) are equal to within rounding, where another CPU's
/// or batch size's last bits may tip it. Such ties may move a few keypoints (at
/// most 1%); a batching fault (a video given another's rows or keyframes) moves
/// most of them.
void expect_batching_changes_nothing(EvalModel& model, const Config& config, const std::string& what) {
  const EvalRun one = run(model, config, 1);
  const EvalRun four = run(model, config, 4);
  EXPECT_EQ(one.totals.videos, four.totals.videos) << what;
  EXPECT_EQ(one.totals.frames, four.totals.frames) << what;
  EXPECT_EQ(one.totals.initializer_runs, four.totals.initializer_runs) << what;
  ASSERT_EQ(one.predictions.videos.size(), written_videos().size()) << what;
  ASSERT_EQ(four.predictions.videos.size(), written_videos().size()) << what;
  std::size_t keypoints = 0, moved = 0;
  for (const auto& [id, joints] : one.predictions.videos) {
    const auto& other = four.predictions.videos.at(id);
    ASSERT_EQ(joints.size(), other.size()) << what << " " << id;
    for (std::size_t k = 0; k < joints.size(); ++k) {
      ++keypoints;
      moved += std::max(std::abs(double(joints[k].x) - other[k].x), std::abs(double(joints[k].y) - other[k].y)) > 1e-3;
    }
  }
  EXPECT_LE(moved, keypoints / 100) << what << ": " << moved << " of " << keypoints << " keypoints moved";
}

/// Initializer runs of each video alone (batch 1).
std::vector<int64_t> runs_per_video(EvalModel& model, const Config& config) {
  std::vector<int64_t> runs;
  for (const auto& v : written_videos()) runs.push_back(predict_video(model, v, config, torch::kCPU).initializer_runs);
  return runs;
}

/// Candidate thresholds around the mean peaks of the distilled frames without
/// re-initialisation: from the median outwards, up to 4x beyond the extremes
/// (with the flip test the rule sees the mean of a frame's and its mirror's
/// peaks, which is above the peak of their average). The median itself is a
/// measured peak, a threshold no rule decides alike for every batch size: the
/// candidates start a little above it.
std::vector<double> candidate_thresholds(std::vector<double> peaks) {
  std::sort(peaks.begin(), peaks.end());
  const double median = peaks[peaks.size() / 2];
  std::vector<double> out;
  for (int k = 1; k <= 24; ++k) {
    out.push_back(median * std::pow(4.0 * peaks.back() / median, k / 24.0));
    out.push_back(median * std::pow(0.25 * peaks.front() / median, k / 24.0));
  }
  return out;
}

/// True when `decide(t)` is the same for t = threshold and t = threshold * (1 -+
/// kKeyframeTolerance): no mean peak the rule compared lies in the band where
/// batch sizes and CPUs may decide differently (DkdStream's documented tolerance),
/// so the test's expectations do not hang on the last bits of a convolution.
template <class Decide>
bool decided_clear_of_threshold(double threshold, const Decide& decide) {
  const auto at = decide(threshold);
  return decide(threshold * (1.0 - kKeyframeTolerance)) == at && decide(threshold * (1.0 + kKeyframeTolerance)) == at;
}

/// A reinit_confidence that re-initialises some distilled frames but not all
/// (each video alone), with no compared mean peak within kKeyframeTolerance of
/// it; 0 when no candidate does.
double mixed_threshold(EvalModel& model, Config config) {
  config.infer.reinit_every = 0;
  config.infer.reinit_confidence = 0.0;
  std::vector<double> peaks;
  int64_t frames = 0;
  for (const auto& v : written_videos()) {
    const VideoPredictions p = predict_video(model, v, config, torch::kCPU);
    const int J = v.num_joints;
    frames += v.num_frames();
    for (int t = 1; t < v.num_frames(); ++t) {
      double sum = 0.0;
      for (int j = 0; j < J; ++j) sum += p.confidence[static_cast<std::size_t>(t * J + j)];
      peaks.push_back(sum / J);
    }
  }
  const auto runs_at = [&](double threshold) {
    config.infer.reinit_confidence = threshold;
    return runs_per_video(model, config);
  };
  for (const double threshold : candidate_thresholds(peaks)) {
    int64_t total = 0;
    for (const int64_t r : runs_at(threshold)) total += r;
    const bool mixed = total > static_cast<int64_t>(written_videos().size()) && total < frames;
    if (mixed && decided_clear_of_threshold(threshold, runs_at)) return threshold;
  }
  return 0.0;
}

}  // namespace

TEST(BatchedEval, DkdVideosSteppedTogetherGetTheirOwnPredictionsAndKeyframes) {
  for (const std::string prior : {"none", "warped"}) {
    Config c = eval_config();
    c.model.distillator.prior = parse_kind<PriorKind>(prior, "prior");
    torch::manual_seed(11);
    EvalModel model = EvalModel::dkd(make_dkd_model(c));
    for (const std::string boxes : {"ground_truth", "tracked"}) {
      for (const bool flip : {false, true}) {
        c.eval.boxes = parse_kind<BoxSource>(boxes, "boxes");
        c.eval.flip_test = flip;
        const std::string what = prior + " " + boxes + (flip ? " flip" : "");

        c.infer.reinit_every = 3;
        c.infer.reinit_confidence = 0.0;
        const auto every = runs_per_video(model, c);
        for (std::size_t i = 0; i < every.size(); ++i)
          EXPECT_EQ(every[i], 1 + (written_videos()[i].num_frames() - 1) / 3) << what << " video " << i;
        expect_batching_changes_nothing(model, c, what + " reinit_every=3");

        c.infer.reinit_every = 0;
        c.infer.reinit_confidence = mixed_threshold(model, c);
        // Some distilled frames fall below the threshold, some do not.
        ASSERT_GT(c.infer.reinit_confidence, 0.0) << what << ": no threshold re-initialises some frames but not all";
        expect_batching_changes_nothing(model, c,
                                        what + " reinit_confidence=" + std::to_string(c.infer.reinit_confidence));
      }
    }
  }
}

TEST(BatchedEval, PerFrameModelsRunInChunksWithTheSamePredictions) {
  Config c = eval_config();
  torch::manual_seed(12);
  EvalModel model = EvalModel::per_frame(make_per_frame_model(c.model.encoder, 13, "model.encoder"));
  for (const std::string boxes : {"ground_truth", "tracked"}) {
    for (const bool flip : {false, true}) {
      c.eval.boxes = parse_kind<BoxSource>(boxes, "boxes");
      c.eval.flip_test = flip;
      const std::string what = boxes + (flip ? " flip" : "");
      expect_batching_changes_nothing(model, c, what);
      const EvalRun all = run(model, c, 8);
      EXPECT_EQ(all.totals.initializer_runs, all.totals.frames) << what;
    }
  }
}

TEST(BatchedEval, GroundTruthBoxesGiveTheWholeVideoRun) {
  // predict_video crops frame by frame; run_video on the loaded video is the reference.
  Config c = eval_config();
  c.infer.reinit_every = 2;
  torch::manual_seed(13);
  EvalModel model = EvalModel::dkd(make_dkd_model(c));
  model.eval();
  const VideoRecord& v = written_videos()[2];
  const TestVideo test = load_test_video(v, c.data);
  int64_t runs = 0;
  const auto heatmaps =
      model.run_video(test.frames, false, skeleton_for("penn"), c.infer, &runs, &test.heatmap_transforms);
  const HeatmapPeaks peaks = decode_heatmaps(heatmaps, c.eval.decode, c.data.heatmap_sigma);
  const auto image = test_coords_to_image(peaks.coords, test).contiguous();
  const VideoPredictions p = predict_video(model, v, c, torch::kCPU);
  EXPECT_EQ(p.initializer_runs, runs);
  ASSERT_EQ(static_cast<int64_t>(p.joints.size()), image.size(0) * image.size(1));
  const float* xy = image.data_ptr<float>();
  for (std::size_t k = 0; k < p.joints.size(); ++k) {
    EXPECT_NEAR(p.joints[k].x, xy[2 * k], 1e-3) << k;
    EXPECT_NEAR(p.joints[k].y, xy[2 * k + 1], 1e-3) << k;
  }
}
TEST(BatchedEval, StreamsTakeTheirOwnKeyframes) {
  // Four videos of random frames and crops stepped together vs one at a time,
  // with a reinit_confidence that re-initialises some streams at some steps.
  for (const std::string prior : {"none", "warped"}) {
    Config c = eval_config();
    c.model.distillator.prior = parse_kind<PriorKind>(prior, "prior");
    torch::manual_seed(14);
    EvalModel model = EvalModel::dkd(make_dkd_model(c));
    model.eval();
    constexpr int N = 4, T = 6;
    const auto x = torch::rand({N, T, 3, 64, 64});
    std::vector<std::vector<CropTransform>> crops(T);  // crops[t][video]
    for (int t = 0; t < T; ++t)
      for (int i = 0; i < N; ++i) {
        const float o = static_cast<float>(3 * i + 2 * t);
        crops[t].push_back(test_crop_transform({10 + o, 8 + o / 2, 60 + o, 70 + o}, c.data).downscaled(kHeatmapStride));
      }
    for (const bool flip : {false, true}) {
      model.set_flip_test(flip, &skeleton_for("penn"));
      // The threshold: the median mean peak of the distilled frames without re-initialisation.
      std::vector<double> peaks;
      model.first_frames(x.select(1, 0), &crops[0]);
      for (int t = 1; t < T; ++t) {
        const auto h = model.next_frames(x.select(1, t), {}, nullptr, &crops[t]);
        const auto p = h.flatten(2).amax(-1).mean(1);
        for (int i = 0; i < N; ++i) peaks.push_back(p[i].item<double>());
      }
      InferConfig rules;
      std::vector<torch::Tensor> alone;
      std::vector<std::vector<bool>> alone_ran;
      bool mixed = false;  // a step where some streams re-initialise and others not
      // Each video alone at `threshold`: its heatmaps into `alone` and its keyframes.
      const auto run_alone = [&](double threshold) {
        InferConfig r;
        r.reinit_confidence = threshold;
        alone.clear();
        std::vector<std::vector<bool>> ran_per_video(N);
        for (int i = 0; i < N; ++i) {
          std::vector<torch::Tensor> hs = {model.first_frame(x[i][0].unsqueeze(0), &crops[0][i])};
          for (int t = 1; t < T; ++t) {
            bool ran = false;
            hs.push_back(model.next_frame(x[i][t].unsqueeze(0), r, &ran, &crops[t][i]));
            ran_per_video[i].push_back(ran);
          }
          alone.push_back(torch::cat(hs));
        }
        return ran_per_video;
      };
      for (const double threshold : candidate_thresholds(peaks)) {
        if (!decided_clear_of_threshold(threshold, run_alone)) continue;
        rules.reinit_confidence = threshold;
        alone_ran = run_alone(threshold);
        for (int t = 1; t < T; ++t) {
          int count = 0;
          for (int i = 0; i < N; ++i) count += alone_ran[i][t - 1];
          mixed = mixed || (count > 0 && count < N);
        }
        if (mixed) break;
      }
      ASSERT_TRUE(mixed) << prior << " flip " << flip << ": no threshold re-initialises some streams but not others";
      std::vector<torch::Tensor> hs = {model.first_frames(x.select(1, 0), &crops[0])};
      for (int t = 1; t < T; ++t) {
        std::vector<bool> ran;
        hs.push_back(model.next_frames(x.select(1, t), rules, &ran, &crops[t]));
        ASSERT_EQ(ran.size(), static_cast<std::size_t>(N));
        for (int i = 0; i < N; ++i)
          EXPECT_EQ(ran[i], alone_ran[i][t - 1]) << prior << " flip " << flip << " video " << i << " frame " << t;
      }
      const auto batched = torch::stack(hs, 1);
      const auto reference = torch::stack(alone);
      const double scale = reference.abs().max().item<double>();
      EXPECT_LE((batched - reference).abs().max().item<double>(), 1e-5 * scale) << prior << " flip " << flip;
      // DkdStream's documented tolerance holds: batching moves no frame's mean peak as far.
      const auto mean_peak = [](const torch::Tensor& h) { return h.flatten(3).amax(-1).mean(-1).to(torch::kDouble); };
      const auto alone_peak = mean_peak(reference);
      EXPECT_LT(((mean_peak(batched) - alone_peak).abs() / alone_peak.abs()).max().item<double>(), kKeyframeTolerance)
          << prior << " flip " << flip;
    }
  }
}
