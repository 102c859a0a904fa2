#pragma once
// The joint set of a data set (Skeleton, config/dataset_spec.h), by name.
#include <string>

#include "dkd/config/dataset_spec.h"

namespace dkd {

/// Skeleton of the data set named `dataset` (data.dataset); ConfigError for an unknown name.
inline const Skeleton& skeleton_for(const std::string& dataset) { return dataset_spec(dataset).skeleton; }

}  // namespace dkd
