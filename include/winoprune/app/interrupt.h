#pragma once
// SIGINT / SIGTERM during a run: the handler only records the signal; the training loop looks
// at it after every step, writes a checkpoint of the step it just finished and throws
// Interrupted, which the CLI turns into "interrupted; resume with: winoprune run --resume DIR"
// and exit status 128 + signal (130 for SIGINT, 143 for SIGTERM). The handlers are one-shot
// (SA_RESETHAND): a second Ctrl-C kills at once, and the next resume removes what that leaves
// (remove_stale_temp_files).
#include <stdexcept>
#include <string>

namespace wp {

struct Interrupted : std::runtime_error {
  Interrupted(int signal, const std::string& run_dir)
      : std::runtime_error("interrupted"), signal(signal), run_dir(run_dir) {}
  int signal;
  std::string run_dir;
};

// Installs the SIGINT and SIGTERM handlers (idempotent).
void install_interrupt_handlers();
// The signal received since the handlers were installed, 0 if none.
int interrupt_signal();
// For tests: as if `signal` had arrived (0 clears).
void set_interrupt_signal(int signal);

// Removes temp files of interrupted atomic writes (names containing ".tmp-" or ending ".tmp")
// directly inside `dir`; returns how many.
int remove_stale_temp_files(const std::string& dir);

}  // namespace wp
