#include "dkd/models/model_set.h"

#include "dkd/models/factory.h"
#include "dkd/util/error.h"

namespace dkd {

std::map<std::string, torch::nn::Module*> ModelSet::modules() {
  auto out = dkd->parts();  // its initializer is the set's initializer
  out["baseline"] = baseline.ptr().get();
  out["discriminator"] = discriminator.ptr().get();
  return out;
}

std::map<std::string, torch::nn::Module*> ModelSet::modules_for(const std::string& kind) {
  if (kind == "initializer") return {{"initializer", initializer.ptr().get()}};
  if (kind == "baseline") return {{"baseline", baseline.ptr().get()}};
  if (kind == "dkd") return dkd->parts();
  throw UsageError("unknown model kind '" + kind + "' (expected dkd, initializer or baseline)");
}

ModelSet build_model_set(const Config& config, const c10::Device& device) {
  ModelSet set;
  set.dkd = make_dkd_model(config);
  set.initializer = set.dkd->initializer;
  set.baseline = make_per_frame_model(config.model.encoder, config.model.num_joints, "model.encoder");
  set.discriminator = make_discriminator(config);
  set.dkd->to(device);
  set.baseline->to(device);
  set.discriminator->to(device);
  return set;
}

}  // namespace dkd
