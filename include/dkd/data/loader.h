#pragma once
// Multi-threaded batch loader over a ClipDataset: worker threads, a bounded
// prefetch queue, a per-epoch shuffle from the seed, disjoint per-rank shards.
// Batch b of epoch e is the same for any number of workers (each sample's RNG
// comes from (seed, epoch, sample index)).
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <torch/torch.h>

#include "dkd/data/clip_dataset.h"
#include "dkd/data/video.h"

namespace dkd {

struct Config;

struct Batch {
  torch::Tensor images;                                ///< [B, T, 3, H, W] float
  torch::Tensor heatmaps;                              ///< [B, T, J, H/4, W/4] float
  torch::Tensor weights;                               ///< [B, T, J] float (visibility)
  torch::Tensor joints;                                ///< [B, T, J, 2] target joints in input-crop pixels
  torch::Tensor boxes;                                 ///< [B, T, 4] the ground-truth box in the crop (BoxCode)
  std::vector<int> videos;                             ///< index into the loader's videos
  std::vector<std::string> video_ids;                  ///< VideoRecord::id per sample
  std::vector<std::vector<int>> frames;                ///< frame indices per sample
  std::vector<std::vector<CropTransform>> transforms;  ///< image -> input crop, per frame
};

class ClipLoader {
 public:
  /// `train`: shuffle per epoch, augment, drop the last partial batch; otherwise
  /// in order, no augmentation, keep the last partial batch. Workers and
  /// prefetch come from config.data. Each rank gets a disjoint shard of
  /// floor(N / world_size) samples (train) per epoch.
  ClipLoader(const std::vector<VideoRecord>& videos, const Config& config, int clip_length, int batch_size, bool train,
             uint64_t seed, int rank = 0, int world_size = 1);
  ~ClipLoader();
  ClipLoader(const ClipLoader&) = delete;
  ClipLoader& operator=(const ClipLoader&) = delete;

  /// Starts epoch `epoch` (reshuffles); the first `skip_batches` batches are skipped (resume).
  void start_epoch(int epoch, int64_t skip_batches = 0);
  /// Next batch of the epoch, or nullopt at its end. Rethrows worker errors (DataError).
  std::optional<Batch> next();
  /// Batches per epoch on this rank.
  int64_t size() const;
  /// Samples of the whole data set (all ranks).
  int64_t num_samples() const { return dataset_.size(); }
  /// Sample indices of this rank for `epoch`, in batch order.
  std::vector<int64_t> epoch_indices(int epoch) const;
  const ClipDataset& dataset() const { return dataset_; }

 private:
  Batch make_batch(int64_t batch) const;
  /// Sample `index`; with data.skip_bad_videos a video whose frame fails to decode
  /// is logged and skipped from then on, and the next good sample takes its place.
  ClipSample get_sample(int64_t index) const;
  void stop_workers();
  void worker_loop();

  ClipDataset dataset_;
  int batch_size_;
  bool train_;
  uint64_t seed_;
  int rank_, world_size_;
  int workers_, prefetch_;
  int epoch_ = 0;
  std::vector<int64_t> order_;
  int64_t next_out_ = 0;    ///< next batch to hand out
  int64_t next_claim_ = 0;  ///< next batch a worker builds
  int64_t end_ = 0;
  bool started_ = false;
  bool stop_ = false;
  std::map<int64_t, Batch> ready_;
  std::exception_ptr error_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
  bool skip_bad_videos_ = false;
  mutable std::mutex bad_mutex_;
  mutable std::set<int> bad_videos_;
};

/// Collates samples into a batch.
Batch collate(const std::vector<ClipSample>& samples, const std::vector<VideoRecord>& videos);

/// Times `batches` training batches of the configured data set (load_split
/// train, data.clip_length, train.dkd.batch_size) and prints clips/s and
/// frames/s. Returns 0.
int run_loader_bench(const Config& config, int batches);

}  // namespace dkd
