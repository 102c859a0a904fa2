#pragma once
// SIGINT/SIGTERM during training: the first asks the trainer to save a
// checkpoint and stop at the next step; a second exits at once. A second signal
// within a second of the first is taken as the same request (a terminal's
// Ctrl-C to the process group plus a launcher's forwarded copy). With several
// ranks the trainer all-reduces the request every step, so a signal to any one
// rank stops all of them at the same step.

namespace dkd {

/// Installs the handlers (idempotent).
void install_stop_handlers();
/// True once a stop was requested.
bool stop_requested();
/// Signal number that asked to stop (0 when none).
int stop_signal();
/// Clears the request (tests).
void reset_stop_request();

}  // namespace dkd
