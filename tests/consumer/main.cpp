// Uses the installed headers and library: the default config survives a YAML
// round trip through the loader (which validates it), and the configuration
// reference (built from the schema) is not empty.
#include <iostream>

#include "dkd/config/config.h"

int main() {
  const dkd::Config config;
  const dkd::Config again = dkd::load_config_from_string(dkd::dump_config(config, false));
  const std::string reference = dkd::config_reference_markdown();
  if (again != config || reference.empty()) {
    std::cerr << "dkd_consumer: the default config does not round-trip, or the reference is empty\n";
    return 1;
  }
  std::cout << "dkd_consumer: default input " << config.data.input_size.at(0) << "x" << config.data.input_size.at(1)
            << ", configuration reference of " << reference.size() << " characters\n";
  return 0;
}
