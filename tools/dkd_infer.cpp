// dkd_infer: placeholder main while the tool is wired up.
#include "dkd/util/cli.h"

int main(int argc, char** argv) {
  CLI::App app{"dkd_infer"};
  dkd::ConfigOptions options;
  dkd::add_config_options(app, options, false);
  if (const int code = dkd::parse_command_line(app, argc, argv); code >= 0) return code;
  return dkd::run_tool("dkd_infer", [&] { return 0; });
}
