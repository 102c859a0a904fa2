// The include graph follows the layering of docs/architecture.md:
//   app -> infer, train -> eval -> models, data, dist -> config -> util
//   synth -> data -> config -> util
// (an area may include itself and anything below it; models, data and dist do
// not include each other; train and infer do not include each other; nothing
// in the library includes synth: only tools/dkd_data.cpp and the tests use it).
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace fs = std::filesystem;

namespace {

const std::map<std::string, std::set<std::string>>& allowed_areas() {
  static const std::map<std::string, std::set<std::string>> rules = {
      {"util", {"util"}},
      {"config", {"config", "util"}},
      {"models", {"models", "config", "util"}},
      {"data", {"data", "config", "util"}},
      {"dist", {"dist", "config", "util"}},
      {"eval", {"eval", "models", "data", "dist", "config", "util"}},
      {"train", {"train", "eval", "models", "data", "dist", "config", "util"}},
      {"infer", {"infer", "eval", "models", "data", "dist", "config", "util"}},
      {"app", {"app", "infer", "train", "eval", "models", "data", "dist", "config", "util"}},
      {"synth", {"synth", "data", "config", "util"}},
  };
  return rules;
}

/// "dkd/<area>/..." includes of a file, as (area, line) pairs.
std::vector<std::pair<std::string, std::string>> dkd_includes(const fs::path& file) {
  static const std::regex include_re(R"re(^\s*#\s*include\s*"dkd/([a-z_]+)/[^"]+")re");
  std::vector<std::pair<std::string, std::string>> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_search(line, m, include_re)) out.emplace_back(m[1].str(), line);
  }
  return out;
}

TEST(Layering, NoIncludeRunsAgainstTheLayers) {
  const fs::path root(DKD_SOURCE_DIR);
  int files = 0;
  std::ostringstream violations;
  for (const fs::path& base : {root / "src", root / "include" / "dkd"}) {
    for (const auto& area_dir : fs::directory_iterator(base)) {
      if (!area_dir.is_directory()) continue;
      const std::string area = area_dir.path().filename().string();
      const auto rule = allowed_areas().find(area);
      ASSERT_NE(rule, allowed_areas().end()) << "unknown area " << area_dir.path() << ": add it to the layering";
      for (const auto& entry : fs::recursive_directory_iterator(area_dir.path())) {
        if (!entry.is_regular_file()) continue;
        ++files;
        for (const auto& [used, line] : dkd_includes(entry.path())) {
          if (!allowed_areas().count(used))
            violations << entry.path() << ": unknown area in " << line << "\n";
          else if (!rule->second.count(used))
            violations << entry.path() << " (" << area << ") includes " << used << ": " << line << "\n";
        }
      }
    }
  }
  EXPECT_GT(files, 50);
  EXPECT_EQ(violations.str(), "");
}

TEST(Layering, TheCheckSeesABackEdge) {
  // The parser the test above relies on: a back edge written to a scratch file is found.
  const fs::path tmp = fs::temp_directory_path() / "dkd_layering_probe.cpp";
  std::ofstream(tmp) << "#include <vector>\n  #include \"dkd/train/trainer.h\"\n#include \"other/x.h\"\n";
  const auto found = dkd_includes(tmp);
  fs::remove(tmp);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].first, "train");
  EXPECT_EQ(allowed_areas().at("eval").count("train"), 0u);
  EXPECT_EQ(allowed_areas().at("data").count("synth"), 0u);
}

}  // namespace
