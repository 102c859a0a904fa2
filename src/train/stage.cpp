#include "dkd/train/stage.h"

namespace dkd {

int64_t Stage::trainable_parameters() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

std::unique_ptr<Stage> make_stage(StageKind kind, StageContext context) {
  switch (kind) {
    case StageKind::initializer:
    case StageKind::baseline:
      return make_per_frame_stage(kind, context);
    case StageKind::dkd:
      return make_dkd_stage(context);
    case StageKind::box:
      return make_box_stage(context);
  }
  throw Error("unknown stage");
}

}  // namespace dkd
