#include "dkd/app/cli.h"

#include <c10/util/Exception.h>

#include <cstdio>
#include <iostream>

#include "dkd/util/error.h"

namespace dkd {

void add_config_options(CLI::App& app, ConfigOptions& options, bool config_required) {
  auto* opt = app.add_option("-c,--config", options.config_path, "experiment config (YAML; _base_ chains allowed)");
  if (config_required) opt->required();
  app.add_option("--set", options.overrides,
                 "override a config value: --set key.path=value (repeatable, applied in order)")
      ->type_name("KEY=VALUE")
      ->take_all()
      ->allow_extra_args(false);
  app.add_flag("--print-config", options.print_config, "print the resolved config as YAML");
}

Config load_config(const ConfigOptions& options) {
  if (options.config_path.empty()) throw UsageError("--config FILE is required");
  Config config = dkd::load_config(options.config_path, options.overrides);
  if (options.print_config) std::cout << dump_config(config, true) << std::flush;
  return config;
}

CLI::Option* add_dataset_option(CLI::App& app, const std::string& name, std::string& value, const std::string& help) {
  const std::vector<std::string> names = dataset_names();
  std::string listed;
  for (std::size_t i = 0; i < names.size(); ++i)
    listed += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return app.add_option(name, value, help + " (" + listed + ")")->check(CLI::IsMember(names))->default_str(value);
}

int parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return -1;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: error: %s\nRun with --help for usage.\n", app.get_name().c_str(), e.what());
    return 2;
  }
}

int run_tool(const std::string& tool_name, const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s: error: %s\n", tool_name.c_str(), e.what());
    return 2;
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: error: %s\n", tool_name.c_str(), e.what());
    return 1;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "%s: error: %s\n", tool_name.c_str(), e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", tool_name.c_str(), e.what());
    return 1;
  } catch (...) {
    std::fprintf(stderr, "%s: error: unknown failure\n", tool_name.c_str());
    return 1;
  }
}

}  // namespace dkd
