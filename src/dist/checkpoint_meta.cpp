#include "dkd/dist/checkpoint_meta.h"

#include "dkd/util/error.h"

namespace dkd {

void store_world_size(nlohmann::json& meta, int world_size) { meta[kCheckpointWorldSizeKey] = world_size; }

void check_resume_world_size(int saved, int current, const std::string& checkpoint) {
  if (saved == current) return;
  const std::string s = std::to_string(saved);
  throw UsageError("cannot resume '" + checkpoint + "': it was written by a run with world size " + s + " (" + s +
                   (saved == 1 ? " rank" : " ranks") + "), this run has world size " + std::to_string(current) +
                   ". Resume with the same number of ranks (dkd_train --nproc " + s + " or torchrun --nproc-per-node " +
                   s + ") or start a fresh run");
}

void check_resume_world_size(const nlohmann::json& meta, int current, const std::string& checkpoint) {
  int saved = 1;
  if (meta.is_object() && meta.contains(kCheckpointWorldSizeKey)) {
    const auto& v = meta.at(kCheckpointWorldSizeKey);
    if (!v.is_number_integer() || v.get<int>() < 1)
      throw UsageError("cannot resume '" + checkpoint + "': its metadata has a bad " + kCheckpointWorldSizeKey +
                       " value " + v.dump());
    saved = v.get<int>();
  }
  check_resume_world_size(saved, current, checkpoint);
}

}  // namespace dkd
