#pragma once
// Ctrl-C / SIGTERM for tools that stream through an input (dkd_infer,
// dkd_data pseudo-label): while a ScopedStopSignals lives, the first signal only
// sets a flag, so the tool stops reading and writes what it has; a second
// signal ends the process at once (the default action). The previous handlers
// come back when it goes out of scope.

namespace dkd {

class ScopedStopSignals {
 public:
  ScopedStopSignals();
  ~ScopedStopSignals();
  ScopedStopSignals(const ScopedStopSignals&) = delete;
  ScopedStopSignals& operator=(const ScopedStopSignals&) = delete;

  /// True once SIGINT or SIGTERM arrived while this object lived.
  static bool stop_requested();

 private:
  using Handler = void (*)(int);
  Handler old_int_;
  Handler old_term_;
};

}  // namespace dkd
