#pragma once
// Runs a built tool (from DKD_TOOL_DIR) with a shell command line and captures
// its exit code and combined output, for end-to-end tests of the four tools.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace dkd::test {

struct ToolResult {
  int exit_code = -1;
  std::string output;
};

inline ToolResult run_tool_command(const std::string& tool, const std::string& args) {
  const std::string cmd = std::string(DKD_TOOL_DIR) + "/" + tool + " " + args + " 2>&1";
  ToolResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), buf.size(), pipe)) r.output += buf.data();
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

}  // namespace dkd::test
