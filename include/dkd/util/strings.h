#pragma once
// Small string helpers shared across areas.
#include <string>

namespace dkd {

/// Whether `text` contains `part`.
inline bool contains(const std::string& text, const char* part) { return text.find(part) != std::string::npos; }

}  // namespace dkd
