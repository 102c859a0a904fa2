// README stays true to the code: its two commands, .ci/run, and the config
// reference generated from the config structs.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "dkd/config/config.h"

namespace {

std::string read(const std::string& rel) {
  std::ifstream in(std::string(DKD_SOURCE_DIR) + "/" + rel);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The contents of the first `n` ```bash blocks.
std::vector<std::string> bash_blocks(const std::string& text, std::size_t n) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (out.size() < n) {
    const auto start = text.find("```bash\n", pos);
    if (start == std::string::npos) break;
    const auto end = text.find("```", start + 8);
    out.push_back(text.substr(start + 8, end - start - 8));
    pos = end + 3;
  }
  return out;
}

TEST(Readme, OpensWithTheTwoCommandsAndCiRunsTheSecond) {
  const std::string readme = read("README.md");
  const auto blocks = bash_blocks(readme, 2);
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0], "tools/setup.sh && tools/quickstart.sh\n");
  EXPECT_EQ(blocks[1], "tools/setup.sh && ctest --test-dir build --output-on-failure -j 2\n");
  // Nothing but the title comes before the first command.
  EXPECT_LT(readme.find("```bash"), readme.find("\n## "));
  const std::string ci = read(".ci/run");
  EXPECT_NE(ci.find(blocks[1]), std::string::npos) << ci;
}

TEST(Readme, ConfigReferenceMatchesTheCode) {
  const std::string readme = read("README.md");
  EXPECT_NE(readme.find(dkd::config_reference_markdown()), std::string::npos)
      << "README's config reference is stale: regenerate it with `build/dkd_train --config-reference`";
}

}  // namespace
