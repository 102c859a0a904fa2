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

/// The environment of each rank: this process's, without any launcher's
/// variables, plus the torchrun variables of that rank.
std::vector<std::vector<std::string>> rank_environments(int nproc, int port) {
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
  return envs;
}

/// execve's view of `strings` (null-terminated); valid while `strings` lives.
std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

/// While it lives, SIGINT and SIGTERM only note themselves (g_pending_signal) for
/// the launcher's loop to forward; the previous handlers come back afterwards.
class SignalCatcher {
 public:
  SignalCatcher() {
    struct sigaction sa {};
    sa.sa_handler = note_pending_signal;
    sigemptyset(&sa.sa_mask);
    g_pending_signal = 0;
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~SignalCatcher() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  SignalCatcher(const SignalCatcher&) = delete;
  SignalCatcher& operator=(const SignalCatcher&) = delete;

 private:
  struct sigaction old_int_;
  struct sigaction old_term_;
};

/// Starts one child per environment in `cenvs`; when a fork fails, kills and
/// reaps the children already started and throws.
std::vector<pid_t> fork_ranks(const std::string& exe, std::vector<char*>& cargv,
                              std::vector<std::vector<char*>>& cenvs) {
  const int nproc = static_cast<int>(cenvs.size());
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
      throw Error(std::string("launcher: fork() failed: ") + std::strerror(e));
    }
    setpgid(pid, pid);  // also here, so no signal can come before the child's own call
    pids[r] = pid;
  }
  return pids;
}

/// Waits for the ranks: the first failure stops the others (SIGTERM, then
/// SIGKILL after kill_grace_s); a first SIGINT/SIGTERM is forwarded once so the
/// ranks can save a checkpoint (SIGKILL after stop_grace_s), a second kills them.
class RankSupervisor {
 public:
  RankSupervisor(std::vector<pid_t> pids, const LaunchOptions& options)
      : pids_(std::move(pids)),
        options_(options),
        nproc_(static_cast<int>(pids_.size())),
        live_(nproc_),
        done_(pids_.size(), false),
        grace_s_(options.kill_grace_s) {}

  /// Returns the launcher's exit code once every rank has ended.
  int wait() {
    while (live_ > 0) {
      if (int sig = g_pending_signal) {
        g_pending_signal = 0;
        if (++signals_seen_ > 1) return kill_now(sig);
        forward(sig);
      }
      const bool reaped = reap();
      if (killing_ && !forwarded_kill_ && live_ > 0 && clock::now() > kill_deadline_) {
        forwarded_kill_ = true;
        spdlog::error("launcher: {} rank(s) still running {} s after the stop signal; killing them", live_, grace_s_);
        signal_live(SIGKILL);
      }
      if (!reaped && live_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return result_;
  }

 private:
  using clock = std::chrono::steady_clock;

  void signal_live(int sig) {
    for (int r = 0; r < nproc_; ++r)
      if (!done_[r]) kill(pids_[r], sig);
  }

  void start_grace(double seconds) {
    killing_ = true;
    grace_s_ = seconds;
    kill_deadline_ = clock::now() + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  }

  /// The first signal: passed on once; the ranks stop after their checkpoint.
  void forward(int sig) {
    spdlog::warn(
        "launcher: got signal {}; the ranks save a checkpoint and stop (up to {} s, dist.stop_grace_s); "
        "signal again to kill them now",
        sig, options_.stop_grace_s);
    signal_live(sig);
    if (result_ == 0) result_ = 128 + sig;
    start_grace(options_.stop_grace_s);
  }

  /// The second signal: no more waiting for checkpoints.
  int kill_now(int sig) {
    spdlog::error("launcher: second signal {}: killing the ranks now (no checkpoint)", sig);
    signal_live(SIGKILL);
    for (int r = 0; r < nproc_; ++r)
      if (!done_[r]) waitpid(pids_[r], nullptr, 0);
    return 128 + sig;
  }

  /// Collects the ranks that ended; the first failure becomes the exit code and
  /// stops the others. Returns whether any rank ended.
  bool reap() {
    bool reaped = false;
    for (int r = 0; r < nproc_; ++r) {
      if (done_[r]) continue;
      int status = 0;
      pid_t w = waitpid(pids_[r], &status, WNOHANG);
      if (w == 0) continue;
      if (w < 0 && errno == EINTR) continue;
      done_[r] = true;
      --live_;
      reaped = true;
      int code = w < 0 ? 1 : exit_code(status);
      if (code != 0 && result_ == 0) {
        result_ = code;
        spdlog::error("launcher: rank {} (pid {}) {}; stopping the other ranks", r, pids_[r], describe_status(status));
      }
      if (code != 0 && !killing_) {
        signal_live(SIGTERM);
        start_grace(options_.kill_grace_s);
      }
    }
    return reaped;
  }

  std::vector<pid_t> pids_;
  const LaunchOptions& options_;
  int nproc_;
  int live_;
  std::vector<bool> done_;
  double grace_s_;
  int result_ = 0;
  int signals_seen_ = 0;
  bool killing_ = false;
  bool forwarded_kill_ = false;
  clock::time_point kill_deadline_{};
};

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
  const std::vector<std::vector<std::string>> envs = rank_environments(nproc, port);
  std::vector<char*> cargv = c_strings(args);
  std::vector<std::vector<char*>> cenvs;
  for (const auto& env : envs) cenvs.push_back(c_strings(env));

  const SignalCatcher signals;
  spdlog::info("launching {} local ranks of {} (MASTER_ADDR=127.0.0.1 MASTER_PORT={})", nproc, args[0], port);
  RankSupervisor ranks(fork_ranks(exe, cargv, cenvs), options);
  return ranks.wait();
}

}  // namespace dkd
