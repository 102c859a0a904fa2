#include "dkd/util/stop_signals.h"

#include <atomic>
#include <csignal>

namespace dkd {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int sig) {
  g_stop = true;
  std::signal(sig, SIG_DFL);  // a second signal ends the process
}

}  // namespace

ScopedStopSignals::ScopedStopSignals() {
  g_stop = false;
  old_int_ = std::signal(SIGINT, on_stop_signal);
  old_term_ = std::signal(SIGTERM, on_stop_signal);
}

ScopedStopSignals::~ScopedStopSignals() {
  std::signal(SIGINT, old_int_);
  std::signal(SIGTERM, old_term_);
}

bool ScopedStopSignals::stop_requested() { return g_stop; }

}  // namespace dkd
