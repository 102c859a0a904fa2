#include "dkd/models/model_set.h"

#include "dkd/models/factory.h"
#include "dkd/util/error.h"

namespace dkd {

std::map<std::string, torch::nn::Module*> ModelSet::modules() {
  auto out = dkd->parts();  // its initializer is the set's initializer
  out["baseline"] = baseline.ptr().get();
  out["discriminator"] = discriminator.ptr().get();
  out["box"] = box.ptr().get();
  return out;
}

std::map<std::string, torch::nn::Module*> ModelSet::modules_for(ModelKind kind) {
  switch (kind) {
    case ModelKind::initializer:
      return {{"initializer", initializer.ptr().get()}};
    case ModelKind::baseline:
      return {{"baseline", baseline.ptr().get()}};
    case ModelKind::dkd:
      break;
  }
  return dkd->parts();
}

ModelSet build_model_set(const Config& config, const c10::Device& device) {
  ModelSet set;
  set.dkd = make_dkd_model(config);
  set.initializer = set.dkd->initializer;
  set.baseline = make_per_frame_model(config.model.encoder, config.model.num_joints, "model.encoder");
  set.discriminator = make_discriminator(config);
  set.box = BoxNet(config.model.box);
  set.box->to(device);
  set.dkd->to(device);
  set.baseline->to(device);
  set.discriminator->to(device);
  return set;
}

}  // namespace dkd
