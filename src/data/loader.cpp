#include "dkd/data/loader.h"

#include <cstdio>

#include <spdlog/spdlog.h>

#include "dkd/config/config.h"
#include "dkd/data/dataset.h"
#include "dkd/util/bench_timer.h"
#include "dkd/util/error.h"
#include "dkd/util/progress.h"

namespace dkd {

Batch collate(const std::vector<ClipSample>& samples, const std::vector<VideoRecord>& videos) {
  if (samples.empty()) throw Error("collate: no samples");
  Batch b;
  std::vector<torch::Tensor> im, hm, w, j, bx;
  for (const auto& s : samples) {
    im.push_back(s.images);
    hm.push_back(s.heatmaps);
    w.push_back(s.weights);
    j.push_back(s.joints);
    bx.push_back(s.boxes);
    b.videos.push_back(s.video);
    b.video_ids.push_back(videos[static_cast<std::size_t>(s.video)].id);
    b.frames.push_back(s.frames);
    b.transforms.push_back(s.transforms);
  }
  b.images = torch::stack(im);
  b.heatmaps = torch::stack(hm);
  b.weights = torch::stack(w);
  b.joints = torch::stack(j);
  b.boxes = torch::stack(bx);
  return b;
}

ClipLoader::ClipLoader(const std::vector<VideoRecord>& videos, const Config& config, int clip_length, int batch_size,
                       bool train, uint64_t seed, int rank, int world_size)
    : dataset_(videos, config.data, clip_length, train),
      batch_size_(batch_size),
      train_(train),
      seed_(seed),
      rank_(rank),
      world_size_(world_size),
      workers_(config.data.workers),
      prefetch_(std::max(1, config.data.prefetch)),
      skip_bad_videos_(config.data.skip_bad_videos) {
  if (batch_size < 1) throw ConfigError("batch size must be at least 1");
  if (world_size < 1 || rank < 0 || rank >= world_size)
    throw UsageError("ClipLoader: rank " + std::to_string(rank) + " outside world size " + std::to_string(world_size));
}

ClipLoader::~ClipLoader() { stop_workers(); }

std::vector<int64_t> ClipLoader::epoch_indices(int epoch) const {
  const int64_t N = dataset_.size();
  std::vector<int64_t> all(static_cast<std::size_t>(N));
  for (int64_t i = 0; i < N; ++i) all[static_cast<std::size_t>(i)] = i;
  if (train_) {
    uint64_t state = sample_seed(seed_, epoch, -1);
    for (int64_t i = N - 1; i > 0; --i) {
      state = sample_seed(state, epoch, i);
      const int64_t j = static_cast<int64_t>(state % static_cast<uint64_t>(i + 1));
      std::swap(all[static_cast<std::size_t>(i)], all[static_cast<std::size_t>(j)]);
    }
  }
  std::vector<int64_t> mine;
  const int64_t per = train_ ? N / world_size_ : (N - rank_ + world_size_ - 1) / world_size_;
  for (int64_t k = 0; k < per; ++k) {
    const int64_t pos = rank_ + k * world_size_;
    if (pos < N) mine.push_back(all[static_cast<std::size_t>(pos)]);
  }
  return mine;
}

int64_t ClipLoader::size() const {
  const int64_t N = dataset_.size();
  if (train_) return (N / world_size_) / batch_size_;
  const int64_t per = (N - rank_ + world_size_ - 1) / world_size_;
  return (per + batch_size_ - 1) / batch_size_;
}

Batch ClipLoader::make_batch(int64_t batch) const {
  const int64_t begin = batch * batch_size_;
  const int64_t end = std::min<int64_t>(begin + batch_size_, static_cast<int64_t>(order_.size()));
  std::vector<ClipSample> samples;
  for (int64_t i = begin; i < end; ++i) {
    const int64_t idx = order_[static_cast<std::size_t>(i)];
    samples.push_back(get_sample(idx));
  }
  return collate(samples, dataset_.videos());
}

ClipSample ClipLoader::get_sample(int64_t index) const {
  if (!skip_bad_videos_) return dataset_.get(index, sample_seed(seed_, epoch_, index));
  // The pre-scan checks annotations and file signatures only; a frame that fails
  // to decode is found here. The substitute is the next sample of a good video,
  // so batch sizes (and the step count every rank agrees on) stay the same.
  const int64_t N = dataset_.size();
  for (int64_t k = 0; k < N; ++k) {
    const int64_t j = (index + k) % N;
    const int video = dataset_.video_of(j);
    {
      std::lock_guard<std::mutex> lock(bad_mutex_);
      if (bad_videos_.count(video)) continue;
    }
    try {
      return dataset_.get(j, sample_seed(seed_, epoch_, j));
    } catch (const DataError& e) {
      std::lock_guard<std::mutex> lock(bad_mutex_);
      if (bad_videos_.insert(video).second)
        spdlog::warn("data.skip_bad_videos: skipping video {} from now on: {}",
                     dataset_.videos()[static_cast<std::size_t>(video)].id, e.what());
    }
  }
  throw DataError(dataset_.videos().empty() ? std::string("data") : dataset_.videos().front().id,
                  "data.skip_bad_videos: every training video has a frame that cannot be decoded");
}

void ClipLoader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  stop_ = false;
}

void ClipLoader::worker_loop() {
  for (;;) {
    int64_t b;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stop_ || error_ || next_claim_ >= end_ || next_claim_ < next_out_ + prefetch_; });
      if (stop_ || error_ || next_claim_ >= end_) return;
      b = next_claim_++;
    }
    try {
      Batch batch = make_batch(b);
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.emplace(b, std::move(batch));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    cv_.notify_all();
  }
}

void ClipLoader::start_epoch(int epoch, int64_t skip_batches) {
  stop_workers();
  epoch_ = epoch;
  order_ = epoch_indices(epoch);
  end_ = size();
  next_out_ = std::min<int64_t>(std::max<int64_t>(0, skip_batches), end_);
  next_claim_ = next_out_;
  ready_.clear();
  error_ = nullptr;
  started_ = true;
  for (int i = 0; i < workers_; ++i) threads_.emplace_back([this] { worker_loop(); });
}

std::optional<Batch> ClipLoader::next() {
  if (!started_) start_epoch(0);
  if (next_out_ >= end_) return std::nullopt;
  if (workers_ == 0) return make_batch(next_out_++);
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return error_ || ready_.count(next_out_) > 0; });
  if (error_ && !ready_.count(next_out_)) std::rethrow_exception(error_);
  Batch b = std::move(ready_.at(next_out_));
  ready_.erase(next_out_);
  ++next_out_;
  lock.unlock();
  cv_.notify_all();
  return b;
}

int run_loader_bench(const Config& config, int batches) {
  const auto videos = load_split(config.data, SplitKind::train);
  const int batch_size = config.train.dkd.batch_size;
  ClipLoader loader(videos, config, config.data.clip_length, batch_size, true,
                    static_cast<uint64_t>(config.runtime.seed));
  if (loader.size() == 0) throw DataError(config.data.root, "not enough clips for one batch");
  const int64_t n = std::min<int64_t>(batches, loader.size());
  loader.start_epoch(0);
  // A throughput, not repeated runs: the first batch (workers starting, caches
  // cold) is timed apart from the steady state after it.
  const Stopwatch total_watch;
  auto first = loader.next();
  const double first_s = total_watch.elapsed_s();
  int64_t clips = first ? first->images.size(0) : 0;
  const Stopwatch steady_watch;
  for (int64_t i = 1; i < n; ++i) {
    auto b = loader.next();
    if (!b) break;
    clips += b->images.size(0);
  }
  const double total = total_watch.elapsed_s();
  const double steady = steady_watch.elapsed_s();
  const int64_t steady_clips = clips - (first ? first->images.size(0) : 0);
  const double rate = steady > 0 && steady_clips > 0 ? steady_clips / steady : clips / total;
  const int T = config.data.clip_length;
  std::printf("loader bench: %s at %s, %d workers, prefetch %d, cache %s\n", config.data.dataset.c_str(),
              config.data.root.c_str(), config.data.workers, config.data.prefetch, config.data.cache ? "on" : "off");
  std::printf("  %lld batches of %d clips x %d frames (%dx%d) in %.2f s (first batch %.3f s)\n",
              static_cast<long long>(n), batch_size, T, config.data.input_size[0], config.data.input_size[1], total,
              first_s);
  std::printf("  %.1f clips/s, %.1f frames/s, %.1f ms per batch\n", rate, rate * T,
              rate > 0 ? 1000.0 * batch_size / rate : 0.0);
  return 0;
}

}  // namespace dkd
