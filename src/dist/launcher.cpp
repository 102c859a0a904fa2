#include "dkd/dist/launcher.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <spdlog/spdlog.h>

#include "dkd/dist/env.h"
#include "dkd/util/error.h"

extern char** environ;

namespace dkd {
namespace {

volatile sig_atomic_t g_pending_signal = 0;

void note_pending_signal(int sig) { g_pending_signal = sig; }

bool is_dist_variable(const char* entry) {
  static const char* const names[] = {"RANK=",        "WORLD_SIZE=",       "LOCAL_RANK=", "MASTER_ADDR=",
                                      "MASTER_PORT=", "LOCAL_WORLD_SIZE=", "GROUP_RANK=", "TORCHELASTIC_"};
  for (const char* n : names)
    if (std::strncmp(entry, n, std::strlen(n)) == 0) return true;
  return false;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return std::string("was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  return "ended with status " + std::to_string(status);
}

}  // namespace

int parse_nproc_flag(int argc, char** argv, std::vector<std::string>* rest) {
  int nproc = 0;
  std::vector<std::string> out;
  auto parse = [](const std::string& v) {
    char* end = nullptr;
    errno = 0;
    long n = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || errno != 0 || *end != '\0' || n < 1 || n > 1024)
      throw UsageError("--nproc: expected a number of ranks in [1, 1024], got '" + v + "'");
    return static_cast<int>(n);
  };
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (i > 0 && a == "--nproc") {
      if (i + 1 >= argc) throw UsageError("--nproc: missing the number of ranks");
      nproc = parse(argv[++i]);
    } else if (i > 0 && a.rfind("--nproc=", 0) == 0) {
      nproc = parse(a.substr(8));
    } else {
      out.push_back(a);
    }
  }
  if (rest) *rest = std::move(out);
  return nproc;
}

int launch_local_ranks(int nproc, int argc, char** argv, const LaunchOptions& options) {
  std::vector<std::string> rest;
  parse_nproc_flag(argc, argv, &rest);
  return launch_local_ranks(nproc, rest, options);
}

int launch_local_ranks(int nproc, const std::vector<std::string>& args, const LaunchOptions& options) {
  if (nproc < 1) throw UsageError("--nproc: must be at least 1, got " + std::to_string(nproc));
  if (args.empty()) throw UsageError("launch_local_ranks: empty argument list");
  if (const char* ws = std::getenv("WORLD_SIZE"); ws && std::strcmp(ws, "1") != 0)
    throw UsageError("--nproc " + std::to_string(nproc) + " cannot be combined with an outside launcher (WORLD_SIZE=" +
                     ws + " is set, e.g. by torchrun); use one or the other");
  const std::string exe = options.executable.empty() ? "/proc/self/exe" : options.executable;
  const int port = options.master_port > 0 ? options.master_port : find_free_port();

  // Everything the children need is built before fork(): after it only
  // async-signal-safe calls are made.
  std::vector<std::string> base_env;
  for (char** e = environ; e && *e; ++e)
    if (!is_dist_variable(*e)) base_env.emplace_back(*e);
  std::vector<std::vector<std::string>> envs(nproc, base_env);
  for (int r = 0; r < nproc; ++r) {
    envs[r].push_back("RANK=" + std::to_string(r));
    envs[r].push_back("LOCAL_RANK=" + std::to_string(r));
    envs[r].push_back("WORLD_SIZE=" + std::to_string(nproc));
    envs[r].push_back("LOCAL_WORLD_SIZE=" + std::to_string(nproc));
    envs[r].push_back("MASTER_ADDR=127.0.0.1");
    envs[r].push_back("MASTER_PORT=" + std::to_string(port));
  }
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<std::vector<char*>> cenvs(nproc);
  for (int r = 0; r < nproc; ++r) {
    for (auto& e : envs[r]) cenvs[r].push_back(const_cast<char*>(e.c_str()));
    cenvs[r].push_back(nullptr);
  }

  struct sigaction sa {
  }, old_int{}, old_term{};
  sa.sa_handler = note_pending_signal;
  sigemptyset(&sa.sa_mask);
  g_pending_signal = 0;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  auto restore = [&] {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
  };

  spdlog::info("launching {} local ranks of {} (MASTER_ADDR=127.0.0.1 MASTER_PORT={})", nproc, args[0], port);
  const pid_t parent = getpid();
  std::vector<pid_t> pids(nproc, -1);
  for (int r = 0; r < nproc; ++r) {
    pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      // A process group of its own: the terminal's Ctrl-C reaches the launcher
      // only, which forwards exactly one signal to each rank.
      setpgid(0, 0);
      execve(exe.c_str(), cargv.data(), cenvs[r].data());
      const char msg[] = "dkd launcher: execve failed\n";
      ssize_t ignored = write(2, msg, sizeof msg - 1);
      (void)ignored;
      _exit(127);
    }
    if (pid < 0) {
      int e = errno;
      for (int q = 0; q < r; ++q) kill(pids[q], SIGKILL);
      for (int q = 0; q < r; ++q) waitpid(pids[q], nullptr, 0);
      restore();
      throw Error(std::string("launcher: fork() failed: ") + std::strerror(e));
    }
    setpgid(pid, pid);  // also here, so no signal can come before the child's own call
    pids[r] = pid;
  }

  using clock = std::chrono::steady_clock;
  int live = nproc;
  int result = 0;
  bool killing = false;
  bool forwarded_kill = false;
  clock::time_point kill_deadline{};
  std::vector<bool> done(nproc, false);
  int signals_seen = 0;
  double grace_s = options.kill_grace_s;
  while (live > 0) {
    if (int sig = g_pending_signal) {
      g_pending_signal = 0;
      if (++signals_seen == 1) {
        spdlog::warn(
            "launcher: got signal {}; the ranks save a checkpoint and stop (up to {} s, dist.stop_grace_s); "
            "signal again to kill them now",
            sig, options.stop_grace_s);
        for (int r = 0; r < nproc; ++r)
          if (!done[r]) kill(pids[r], sig);
        if (result == 0) result = 128 + sig;
        killing = true;
        grace_s = options.stop_grace_s;
        kill_deadline = clock::now() + std::chrono::milliseconds(static_cast<int64_t>(options.stop_grace_s * 1000));
      } else {
        spdlog::error("launcher: second signal {}: killing the ranks now (no checkpoint)", sig);
        for (int r = 0; r < nproc; ++r)
          if (!done[r]) kill(pids[r], SIGKILL);
        for (int r = 0; r < nproc; ++r)
          if (!done[r]) waitpid(pids[r], nullptr, 0);
        restore();
        return 128 + sig;
      }
    }
    bool reaped = false;
    for (int r = 0; r < nproc; ++r) {
      if (done[r]) continue;
      int status = 0;
      pid_t w = waitpid(pids[r], &status, WNOHANG);
      if (w == 0) continue;
      if (w < 0 && errno == EINTR) continue;
      done[r] = true;
      --live;
      reaped = true;
      int code = w < 0 ? 1 : exit_code(status);
      if (code != 0 && result == 0) {
        result = code;
        spdlog::error("launcher: rank {} (pid {}) {}; stopping the other ranks", r, pids[r], describe_status(status));
      }
      if (code != 0 && !killing) {
        killing = true;
        for (int q = 0; q < nproc; ++q)
          if (!done[q]) kill(pids[q], SIGTERM);
        grace_s = options.kill_grace_s;
        kill_deadline = clock::now() + std::chrono::milliseconds(static_cast<int64_t>(options.kill_grace_s * 1000));
      }
    }
    if (killing && !forwarded_kill && live > 0 && clock::now() > kill_deadline) {
      forwarded_kill = true;
      spdlog::error("launcher: {} rank(s) still running {} s after the stop signal; killing them", live, grace_s);
      for (int q = 0; q < nproc; ++q)
        if (!done[q]) kill(pids[q], SIGKILL);
    }
    if (!reaped && live > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  restore();
  return result;
}

}  // namespace dkd
