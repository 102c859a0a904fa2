// README stays true to the code: its two commands, .ci/run, its length, the config
// reference in docs/config.md generated from the config structs, and every relative link
// (and #anchor) in README.md and docs/*.md.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "dkd/config/config.h"

namespace {

namespace fs = std::filesystem;

std::string read_path(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string read(const std::string& rel) { return read_path(fs::path(DKD_SOURCE_DIR) / rel); }

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

/// The lines of a Markdown text outside fenced code blocks (``` or ~~~), with their
/// 1-based numbers; lines inside a fence come back empty.
std::vector<std::string> prose_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  bool fenced = false;
  for (std::string line; std::getline(in, line);) {
    const auto first = line.find_first_not_of(' ');
    const bool fence =
        first != std::string::npos && (line.compare(first, 3, "```") == 0 || line.compare(first, 3, "~~~") == 0);
    if (fence) fenced = !fenced;
    lines.push_back(fence || fenced ? std::string() : line);
  }
  return lines;
}

/// `line` without its inline code spans (`...`, ``...``): their brackets are not links.
std::string without_code_spans(const std::string& line) {
  std::string out;
  std::size_t i = 0;
  while (i < line.size()) {
    if (line[i] != '`') {
      out += line[i++];
      continue;
    }
    std::size_t run = 0;
    while (i + run < line.size() && line[i + run] == '`') ++run;
    const std::string ticks(run, '`');
    std::size_t close = line.find(ticks, i + run);
    // A closing run must be exactly as long as the opening one.
    while (close != std::string::npos && close + run < line.size() && line[close + run] == '`')
      close = line.find(ticks, close + run + 1);
    if (close == std::string::npos) {  // an unmatched run is literal text
      out += ticks;
      i += run;
    } else {
      out += ' ';
      i = close + run;
    }
  }
  return out;
}

struct Link {
  int line = 0;
  std::string text;
  std::string target;
};

/// Every inline link and image, `[text](target)` and `![alt](target)`, outside code
/// blocks and code spans. A target's optional title (`(path "title")`) and angle
/// brackets (`(<path>)`) are dropped.
std::vector<Link> markdown_links(const std::string& markdown) {
  std::vector<Link> links;
  const std::vector<std::string> lines = prose_lines(markdown);
  for (std::size_t n = 0; n < lines.size(); ++n) {
    const std::string s = without_code_spans(lines[n]);
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '[' || (i > 0 && s[i - 1] == '\\')) continue;
      std::size_t j = i + 1;
      for (int depth = 1; j < s.size(); ++j) {
        if (s[j] == '\\') {
          ++j;
        } else if (s[j] == '[') {
          ++depth;
        } else if (s[j] == ']' && --depth == 0) {
          break;
        }
      }
      if (j + 1 >= s.size() || s[j + 1] != '(') continue;
      std::size_t k = j + 2;
      for (int depth = 1; k < s.size(); ++k) {
        if (s[k] == '(') ++depth;
        if (s[k] == ')' && --depth == 0) break;
      }
      if (k >= s.size()) continue;
      std::string target = s.substr(j + 2, k - j - 2);
      const auto a = target.find_first_not_of(' ');
      target = a == std::string::npos ? std::string() : target.substr(a);
      if (!target.empty() && target.front() == '<') {
        target = target.substr(1, target.find('>') == std::string::npos ? std::string::npos : target.find('>') - 1);
      } else {
        target = target.substr(0, target.find_first_of(" \t"));
      }
      links.push_back({static_cast<int>(n + 1), s.substr(i + 1, j - i - 1), target});
    }
  }
  return links;
}

/// The anchor GitHub gives a heading: lower case, spaces become '-', punctuation other than
/// '-' and '_' is dropped (so "a — b" becomes "a--b"). Non-ASCII letters are kept as they
/// are; non-ASCII punctuation and symbols (dashes, ×, ±, arrows, …) are dropped.
std::string github_slug(const std::string& heading) {
  std::string slug;
  for (std::size_t i = 0; i < heading.size();) {
    const auto c = static_cast<unsigned char>(heading[i]);
    if (c < 0x80) {
      if (std::isalnum(c) || c == '-' || c == '_') slug += static_cast<char>(std::tolower(c));
      if (c == ' ') slug += '-';
      ++i;
      continue;
    }
    // One UTF-8 sequence: decode it to decide whether it is a letter.
    const std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    unsigned cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (std::size_t k = 1; k < len && i + k < heading.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(heading[i + k]) & 0x3F);
    const bool symbol =
        cp < 0xC0 || cp == 0xD7 || cp == 0xF7 || (cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x3000 && cp <= 0x303F);
    if (!symbol) slug += heading.substr(i, len);
    i += len;
  }
  return slug;
}

/// The anchors of every ATX heading of a Markdown text (outside code blocks); a repeated
/// slug gets "-1", "-2", ... as on GitHub.
std::set<std::string> heading_anchors(const std::string& markdown) {
  std::set<std::string> anchors;
  std::map<std::string, int> seen;
  for (const std::string& line : prose_lines(markdown)) {
    std::size_t level = 0;
    while (level < line.size() && line[level] == '#') ++level;
    if (level == 0 || level > 6 || level >= line.size() || line[level] != ' ') continue;
    std::string title = line.substr(level + 1);
    while (!title.empty() && (title.back() == '#' || title.back() == ' ')) title.pop_back();
    // A link in a heading counts with its text only.
    for (const Link& link : markdown_links(title)) {
      const std::string whole = "[" + link.text + "](" + link.target + ")";
      const auto at = title.find(whole);
      if (at != std::string::npos) title.replace(at, whole.size(), link.text);
    }
    const std::string slug = github_slug(title);
    const int repeat = seen[slug]++;
    anchors.insert(repeat == 0 ? slug : slug + "-" + std::to_string(repeat));
  }
  return anchors;
}

/// The relative links of the Markdown text `markdown` (the contents of `file`) that do not
/// resolve: the path, relative to the file's folder, must exist, and an #anchor into a .md
/// file (or into this one) must name one of its headings. One "file:line: target (why)"
/// per broken link. `checked` counts the relative links looked at.
std::vector<std::string> broken_links(const fs::path& file, const std::string& markdown,
                                      std::size_t* checked = nullptr) {
  std::vector<std::string> broken;
  const std::string name = file.lexically_relative(DKD_SOURCE_DIR).generic_string();
  for (const Link& link : markdown_links(markdown)) {
    const std::string& t = link.target;
    if (t.rfind("http://", 0) == 0 || t.rfind("https://", 0) == 0 || t.rfind("mailto:", 0) == 0) continue;
    if (checked) ++*checked;
    const std::string where = name + ":" + std::to_string(link.line) + ": " + (t.empty() ? "(empty)" : t);
    const auto hash = t.find('#');
    const std::string path = t.substr(0, hash);
    const std::string anchor = hash == std::string::npos ? std::string() : t.substr(hash + 1);
    const fs::path resolved = path.empty() ? file : (file.parent_path() / path).lexically_normal();
    if (t.empty() || (!path.empty() && !fs::exists(resolved))) {
      broken.push_back(
          where + " (no such file or folder: " + resolved.lexically_relative(DKD_SOURCE_DIR).generic_string() + ")");
      continue;
    }
    if (hash == std::string::npos || (!path.empty() && resolved.extension() != ".md")) continue;
    const std::set<std::string> anchors = heading_anchors(path.empty() ? markdown : read_path(resolved));
    if (anchors.count(anchor) == 0) broken.push_back(where + " (no heading with the anchor #" + anchor + ")");
  }
  return broken;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
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

TEST(Readme, IsALandingPageOfAtMost120Lines) {
  const std::string readme = read("README.md");
  const auto lines = std::count(readme.begin(), readme.end(), '\n');
  EXPECT_LE(lines, 120) << "README.md has " << lines
                        << " lines; how-to text belongs in docs/usage.md, measurements in docs/results.md or "
                           "docs/experiments.md";
}

TEST(Readme, ConfigReferenceMatchesTheCode) {
  const std::string reference = read("docs/config.md");
  EXPECT_NE(reference.find(dkd::config_reference_markdown()), std::string::npos)
      << "docs/config.md's config reference is stale: regenerate it with `build/dkd_train --config-reference` "
         "(docs/config.md, \"Regenerating the table\", has the command)";
}

TEST(Docs, EveryRelativeLinkResolves) {
  // The checker itself, on a scratch text (as if it were a file at the repository root)
  // with known good and bad links, so that a checker that finds nothing cannot pass.
  const std::string scratch =
      "# A heading — with `code`, (punctuation) and ×\n"
      "[good](README.md) ![image](docs) [web](https://example.com/x) [mail](mailto:a@b.c)\n"
      "[bad file](no/such/file.md) and [bad anchor](#no-such-heading) and "
      "[here](#a-heading--with-code-punctuation-and-)\n"
      "[other file](README.md#license) [other file, bad anchor](README.md#no-such-heading)\n"
      "`[in code](nope.md)` and ``[in ` code](nope.md)``\n"
      "```\n[in a fence](nope.md)\n```\n"
      "## A heading — with `code`, (punctuation) and ×\n"
      "[repeated heading](#a-heading--with-code-punctuation-and--1) [title](<README.md> \"t\")\n";
  const auto links = markdown_links(scratch);
  ASSERT_EQ(links.size(), 11u);
  EXPECT_EQ(links[0].target, "README.md");
  EXPECT_EQ(links[1].target, "docs");
  EXPECT_EQ(links.back().target, "README.md");
  std::size_t checked = 0;
  const auto scratch_broken = broken_links(fs::path(DKD_SOURCE_DIR) / "scratch.md", scratch, &checked);
  EXPECT_EQ(checked, 9u);
  ASSERT_EQ(scratch_broken.size(), 3u) << joined(scratch_broken);
  EXPECT_EQ(scratch_broken[0].rfind("scratch.md:3: no/such/file.md (no such file", 0), 0u) << scratch_broken[0];
  EXPECT_EQ(scratch_broken[1], "scratch.md:3: #no-such-heading (no heading with the anchor #no-such-heading)");
  EXPECT_EQ(scratch_broken[2], "scratch.md:4: README.md#no-such-heading (no heading with the anchor #no-such-heading)");
  EXPECT_EQ(github_slug("2026-12-04 (session 6) — bfloat16 inference"), "2026-12-04-session-6--bfloat16-inference");
  EXPECT_EQ(github_slug("Choices behind configs/synthetic.yaml"), "choices-behind-configssyntheticyaml");
  EXPECT_EQ(github_slug("dkd_train"), "dkd_train");

  // The real documents.
  std::vector<fs::path> files = {fs::path(DKD_SOURCE_DIR) / "README.md"};
  for (const auto& entry : fs::directory_iterator(fs::path(DKD_SOURCE_DIR) / "docs"))
    if (entry.is_regular_file() && entry.path().extension() == ".md") files.push_back(entry.path());
  std::sort(files.begin() + 1, files.end());
  EXPECT_GE(files.size(), 9u);  // README.md and the eight documents it links
  std::vector<std::string> broken;
  std::size_t readme_links = 0;
  for (const auto& file : files) {
    std::size_t n = 0;
    const auto found = broken_links(file, read_path(file), &n);
    broken.insert(broken.end(), found.begin(), found.end());
    if (file.filename() == "README.md") readme_links = n;
  }
  EXPECT_GE(readme_links, 9u);
  EXPECT_TRUE(broken.empty()) << broken.size() << " broken links:\n" << joined(broken);
}

}  // namespace
