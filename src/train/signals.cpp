#include "dkd/train/signals.h"

#include <csignal>
#include <unistd.h>

#include <atomic>

namespace dkd {

namespace {

std::atomic<int> g_signal{0};
std::atomic<int> g_count{0};

void on_signal(int sig) {
  if (g_count.fetch_add(1) >= 1) {
    // Second signal: the user wants out now. Only async-signal-safe calls here.
    static const char msg[] = "\nsecond signal: exiting immediately\n";
    (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
    _exit(128 + sig);
  }
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
}

}  // namespace dkd
