#include "dkd/train/signals.h"

#include <csignal>
#include <ctime>
#include <unistd.h>

#include <atomic>

namespace dkd {

namespace {

std::atomic<int> g_signal{0};
std::atomic<int> g_count{0};
std::atomic<int64_t> g_first_ns{0};

// A terminal's Ctrl-C reaches a whole process group, and a launcher (torchrun)
// forwards its own copy a moment later: a second signal this soon after the
// first is the same request, not a user pressing Ctrl-C again.
constexpr int64_t kSameRequestNs = 1'000'000'000;

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);  // async-signal-safe
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void on_signal(int sig) {
  const int64_t now = now_ns();
  if (g_count.load() >= 1) {
    if (now - g_first_ns.load() < kSameRequestNs) return;
    // Second signal: the user wants out now. Only async-signal-safe calls here.
    static const char msg[] = "\nsecond signal: exiting immediately\n";
    (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
    _exit(128 + sig);
  }
  g_count.store(1);
  g_first_ns.store(now);
  g_signal.store(sig);
  static const char msg[] = "\nstop requested: saving a checkpoint after this step (signal again to exit now)\n";
  (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
}

}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool stop_requested() { return g_signal.load() != 0; }
int stop_signal() { return g_signal.load(); }
void reset_stop_request() {
  g_signal.store(0);
  g_count.store(0);
  g_first_ns.store(0);
}

}  // namespace dkd
