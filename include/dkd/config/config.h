#pragma once
// Typed experiment configuration: loading YAML files (with `_base_` chains and
// --set overrides), dumping the resolved config, and comparing configs. The
// structs themselves and their keys are the schema (config/schema.h).
#include <string>
#include <vector>

#include "dkd/config/schema.h"

namespace dkd {

/// Loads `path`, following `_base_` chains (paths relative to the including
/// file), then applies `key.path=value` overrides in order. Throws ConfigError
/// naming the file, key and value on any problem.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

/// The same from YAML text; `origin` names it in error messages.
Config load_config_from_string(const std::string& yaml, const std::vector<std::string>& overrides = {},
                               const std::string& origin = "<string>");

/// Applies overrides to an existing config (as if they followed it on the command line).
Config apply_overrides(const Config& config, const std::vector<std::string>& overrides);

/// Resolved config as YAML (with the help text as comments). Loading it gives an equal config.
std::string dump_config(const Config& config, bool with_comments = true);
void save_config(const Config& config, const std::string& path);

bool operator==(const Config& a, const Config& b);
inline bool operator!=(const Config& a, const Config& b) { return !(a == b); }

}  // namespace dkd
