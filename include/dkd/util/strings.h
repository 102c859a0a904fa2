#pragma once
// Small string helpers shared across areas.
#include <string>
#include <vector>

namespace dkd {

/// Whether `text` contains `part`.
inline bool contains(const std::string& text, const char* part) { return text.find(part) != std::string::npos; }

/// The fields of `text` between the separators `sep`, empty ones included:
/// "a,,b" gives {"a", "", "b"} and "" gives {""}, so a caller that validates
/// the fields sees every one the user typed.
inline std::vector<std::string> split_list(const std::string& text, char sep) {
  std::vector<std::string> out(1);
  for (char c : text) {
    if (c == sep)
      out.emplace_back();
    else
      out.back() += c;
  }
  return out;
}

}  // namespace dkd
