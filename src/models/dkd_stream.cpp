#include "dkd/models/dkd_stream.h"

#include "dkd/util/error.h"

namespace dkd {

namespace {

torch::Tensor select_rows(const torch::Tensor& x, const torch::Tensor& rows) {
  return x.defined() ? x.index_select(0, rows) : x;
}

DkdState select_rows(const DkdState& s, const torch::Tensor& rows) {
  return {select_rows(s.features, rows), select_rows(s.heatmaps, rows), select_rows(s.crops, rows)};
}

/// `part` (rows `rows` of a batch of `n`) written into `whole`, allocated on first use.
void put_rows(torch::Tensor& whole, int64_t n, const torch::Tensor& rows, const torch::Tensor& part) {
  if (!part.defined()) return;
  if (!whole.defined()) {
    auto sizes = part.sizes().vec();
    sizes[0] = n;
    whole = torch::empty(sizes, part.options());
  }
  whole.index_copy_(0, rows, part);
}

void put_rows(DkdState& whole, int64_t n, const torch::Tensor& rows, const DkdState& part) {
  put_rows(whole.features, n, rows, part.features);
  put_rows(whole.heatmaps, n, rows, part.heatmaps);
  put_rows(whole.crops, n, rows, part.crops);
}

}  // namespace

torch::Tensor DkdStream::start(const torch::Tensor& frame, const torch::Tensor& crops, int64_t rows_per_stream) {
  if (!model_) throw Error("DkdStream: no model");
  const int64_t n = frame.size(0);
  rows_ = rows_per_stream > 0 ? rows_per_stream : n;
  if (n % rows_ != 0)
    throw Error("DkdStream::start: " + std::to_string(n) + " rows are not streams of " + std::to_string(rows_));
  index_.assign(static_cast<std::size_t>(n / rows_), 0);
  state_ = model_->start(frame, crops);
  return state_.heatmaps;
}

torch::Tensor DkdStream::rows_of(const std::vector<int64_t>& streams) const {
  std::vector<int64_t> rows;
  rows.reserve(streams.size() * static_cast<std::size_t>(rows_));
  for (const int64_t s : streams)
    for (int64_t r = 0; r < rows_; ++r) rows.push_back(s * rows_ + r);
  return torch::tensor(rows, torch::TensorOptions().dtype(torch::kLong).device(state_.features.device()));
}

torch::Tensor DkdStream::next(const torch::Tensor& frame, const torch::Tensor& crops, const InferConfig& rules,
                              std::vector<bool>* initializer_ran) {
  if (!started()) throw Error("DkdStream::next: call start() on the first frame");
  const int64_t S = streams();
  if (frame.size(0) != S * rows_)
    throw Error("DkdStream::next: " + std::to_string(frame.size(0)) + " rows for " + std::to_string(S) +
                " streams of " + std::to_string(rows_));
  std::vector<bool> keyframe(static_cast<std::size_t>(S), false);
  std::vector<int64_t> stepping;  // the streams that run the distilled kernels
  for (int64_t s = 0; s < S; ++s) {
    const int64_t index = ++index_[static_cast<std::size_t>(s)];
    keyframe[static_cast<std::size_t>(s)] = rules.reinit_every > 0 && index % rules.reinit_every == 0;
    if (!keyframe[static_cast<std::size_t>(s)]) stepping.push_back(s);
  }
  const bool all_step = static_cast<int64_t>(stepping.size()) == S;
  DkdState stepped;  // the state of the stepping streams' rows after their step
  torch::Tensor step_rows;
  if (!stepping.empty()) {
    if (all_step) {
      stepped = state_;
    } else {
      step_rows = rows_of(stepping);
      stepped = select_rows(state_, step_rows);
    }
    const auto heatmaps = model_->step(stepped, all_step ? frame : frame.index_select(0, step_rows),
                                       all_step ? crops : select_rows(crops, step_rows));
    // A stream whose kernels lost the person: the mean peak of its distilled heatmaps.
    if (rules.reinit_confidence > 0.0) {
      // The peaks are exact maxima of the heatmaps; their mean is summed here in
      // double, in one order, so it adds no rounding that depends on the batch.
      const auto peaks = heatmaps.flatten(2).amax(-1).reshape({static_cast<int64_t>(stepping.size()), -1});
      const auto values = peaks.to(torch::kCPU, torch::kDouble).contiguous();
      const int64_t per_stream = values.size(1);
      const double* v = values.data_ptr<double>();
      for (std::size_t i = 0; i < stepping.size(); ++i) {
        double sum = 0.0;
        for (int64_t k = 0; k < per_stream; ++k) sum += v[static_cast<int64_t>(i) * per_stream + k];
        if (sum / static_cast<double>(per_stream) < rules.reinit_confidence)
          keyframe[static_cast<std::size_t>(stepping[i])] = true;
      }
    }
  }
  std::vector<int64_t> restarting, kept;
  for (int64_t s = 0; s < S; ++s) (keyframe[static_cast<std::size_t>(s)] ? restarting : kept).push_back(s);
  if (initializer_ran) *initializer_ran = keyframe;
  if (restarting.empty()) {  // every stream stepped
    state_ = stepped;
    return state_.heatmaps;
  }
  if (kept.empty()) {  // every stream restarts
    state_ = model_->start(frame, crops);
    return state_.heatmaps;
  }
  // Some streams restart, the others keep their step: run the initializer on
  // the restarting rows only and merge the two parts by row.
  const auto restart_rows = rows_of(restarting);
  const DkdState restarted = model_->start(frame.index_select(0, restart_rows), select_rows(crops, restart_rows));
  // Rows of streams that stepped and then fell below the confidence are overwritten.
  const int64_t n = S * rows_;
  DkdState merged;
  if (!stepping.empty()) put_rows(merged, n, all_step ? torch::arange(n, restart_rows.options()) : step_rows, stepped);
  put_rows(merged, n, restart_rows, restarted);
  state_ = merged;
  return state_.heatmaps;
}

torch::Tensor DkdStream::next(const torch::Tensor& frame, const torch::Tensor& crops, const InferConfig& rules,
                              bool* initializer_ran) {
  if (started() && streams() != 1)
    throw Error("DkdStream::next: " + std::to_string(streams()) + " streams; pass one flag per stream");
  std::vector<bool> ran;
  auto heatmaps = next(frame, crops, rules, &ran);
  if (initializer_ran) *initializer_ran = ran.at(0);
  return heatmaps;
}

void DkdStream::keep(const std::vector<int64_t>& streams) {
  if (!started()) throw Error("DkdStream::keep: call start() first");
  std::vector<int64_t> index;
  for (const int64_t s : streams) {
    if (s < 0 || s >= this->streams()) throw Error("DkdStream::keep: no stream " + std::to_string(s));
    index.push_back(index_[static_cast<std::size_t>(s)]);
  }
  if (static_cast<int64_t>(streams.size()) == this->streams()) {
    bool same = true;
    for (std::size_t i = 0; i < streams.size(); ++i) same = same && streams[i] == static_cast<int64_t>(i);
    if (same) return;
  }
  state_ = select_rows(state_, rows_of(streams));
  index_ = std::move(index);
}

}  // namespace dkd
