#pragma once
// Shared command-line plumbing of the four tools (the app area: above every other): --config / --set options and
// the main() wrapper that maps exceptions to one clear line and an exit code.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "dkd/config/config.h"

namespace dkd {

struct ConfigOptions {
  std::string config_path;
  std::vector<std::string> overrides;
  bool print_config = false;
};

/// Adds --config FILE, repeatable --set key.path=value and --print-config.
void add_config_options(CLI::App& app, ConfigOptions& options, bool config_required = true);

/// Loads the config named by the options (ConfigError on problems). When
/// --print-config was given, prints the resolved YAML to stdout.
Config load_config(const ConfigOptions& options);

/// Adds an option whose value is one of the names of a named enum
/// (config/kinds.h), e.g. --model dkd|initializer|baseline; a wrong name is a usage
/// error that lists the valid ones.
template <class E>
CLI::Option* add_kind_option(CLI::App& app, const std::string& name, E& value, const std::string& help) {
  std::map<std::string, E> names;
  for (const auto& [v, n] : EnumNames<E>::values) names.emplace(n, v);
  return app.add_option(name, value, help + " (" + kind_names_text<E>() + ")")
      ->transform(CLI::CheckedTransformer(names))
      ->default_str(name_of(value));
}

/// Adds an option naming a registered data set (config/dataset_spec.h), e.g.
/// --dataset penn; a wrong name is a usage error that lists the valid ones.
CLI::Option* add_dataset_option(CLI::App& app, const std::string& name, std::string& value, const std::string& help);

/// Parses the command line. Returns -1 to go on, or the exit code to return
/// at once: 0 after --help, 2 (with a one-line message) for a bad command line.
int parse_command_line(CLI::App& app, int argc, char** argv);

/// Runs a tool body: parses nothing itself, catches everything. Exit codes:
/// 0 success, 1 runtime failure, 2 usage or config error. Never aborts.
int run_tool(const std::string& tool_name, const std::function<int()>& body);

}  // namespace dkd
