#pragma once
// Progress of long phases (training epochs, evaluations, sensitivity sweeps).
//   live (a terminal, see stderr_is_terminal): one line redrawn in place ("\r...\x1b[K") at most
//     every `redraw_seconds` (0.2 s: ~5 redraws/s is smooth and costs nothing):
//       prune 3/10 [########------------] 120/469  loss 0.4123  top-1 86.10%  1523 img/s  ETA 0:52
//   plain (a file or pipe): the same text as a normal line every `line_every_seconds` (and/or
//     every `line_every_iters` iterations, if > 0), so logs stay readable.
// end_epoch prints one summary line in both modes (erasing the live bar first). The reporter
// only writes to the stream it is given; it never exits.
#include <cstdint>
#include <functional>
#include <limits>
#include <ostream>
#include <string>

namespace wp {

struct ProgressOptions {
  bool live = false;
  double redraw_seconds = 0.2;
  double line_every_seconds = 30;
  int64_t line_every_iters = 0;
  std::function<double()> clock;   // seconds, monotonic; empty = std::chrono::steady_clock
};

struct EpochSummary {
  static constexpr double none = std::numeric_limits<double>::quiet_NaN();
  double train_loss = none, train_top1 = none;
  double val_loss = none, val_top1 = none, val_top5 = none;
  int64_t images = 0;              // images processed in the epoch (for img/s)
  std::string extra;               // appended as is, e.g. "sparsity 90.0%"
};

class ProgressReporter {
 public:
  ProgressReporter(std::ostream& out, ProgressOptions options);
  // isatty(STDERR_FILENO) and TERM is not "dumb".
  static bool stderr_is_terminal();

  // `label` is the phase ("prune"); epoch/epochs 0 = not an epoch loop (an evaluation).
  void begin(const std::string& label, int64_t epoch, int64_t epochs, int64_t iters_total);
  // After iteration `iter` (1-based) of the current loop; loss/top1 are running means (NaN =
  // not shown), images the number processed since begin().
  void update(int64_t iter, double loss, double top1, int64_t images);
  void end_epoch(const EpochSummary& summary);
  // Erases a live bar without a summary (e.g. before other output).
  void clear();

  // The status text for the current state (no "\r"); exposed for tests.
  std::string status_line() const;

 private:
  double now() const;
  std::ostream& out_;
  ProgressOptions opt_;
  std::string label_;
  int64_t epoch_ = 0, epochs_ = 0, iters_ = 0;
  int64_t iter_ = 0, images_ = 0;
  double loss_ = 0, top1_ = 0;
  double start_ = 0, last_draw_ = -1e300, last_line_ = 0;
  int64_t last_line_iter_ = 0;
  bool bar_visible_ = false;
};

}  // namespace wp
