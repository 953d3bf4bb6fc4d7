// Progress bar / periodic progress lines (contract: io/progress.h).
#include "winoprune/io/progress.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace wp {

namespace {

constexpr int kBarWidth = 20;

std::string clock_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  int64_t s = int64_t(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(s / 3600),
                  (long long)(s / 60 % 60), (long long)(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
  return buf;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

ProgressReporter::ProgressReporter(std::ostream& out, ProgressOptions options)
    : out_(out), opt_(std::move(options)) {}

bool ProgressReporter::stderr_is_terminal() {
  const char* term = std::getenv("TERM");
  return ::isatty(STDERR_FILENO) == 1 && !(term && std::strcmp(term, "dumb") == 0);
}

double ProgressReporter::now() const {
  if (opt_.clock) return opt_.clock();
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

void ProgressReporter::begin(const std::string& label, int64_t epoch, int64_t epochs,
                             int64_t iters_total) {
  clear();
  label_ = label;
  epoch_ = epoch;
  epochs_ = epochs;
  iters_ = iters_total;
  iter_ = images_ = 0;
  loss_ = top1_ = std::nan("");
  start_ = now();
  last_line_ = start_;
  last_line_iter_ = 0;
  last_draw_ = -1e300;
}

std::string ProgressReporter::status_line() const {
  std::string s = label_;
  if (epochs_ > 0) s += " " + std::to_string(epoch_) + "/" + std::to_string(epochs_);
  if (iters_ > 0) {
    int filled = int(double(kBarWidth) * double(std::min(iter_, iters_)) / double(iters_));
    s += " [" + std::string(size_t(filled), '#') + std::string(size_t(kBarWidth - filled), '-') +
         "] ";
    s += std::to_string(iter_) + "/" + std::to_string(iters_);
  } else {
    s += " " + std::to_string(iter_);
  }
  if (std::isfinite(loss_)) s += "  loss " + fmt("%.4f", loss_);
  if (std::isfinite(top1_)) s += "  top-1 " + fmt("%.2f", 100 * top1_) + "%";
  double elapsed = now() - start_;
  if (elapsed > 0 && images_ > 0) s += "  " + fmt("%.0f", double(images_) / elapsed) + " img/s";
  if (iters_ > 0 && iter_ > 0 && iter_ < iters_)
    s += "  ETA " + clock_text(elapsed / double(iter_) * double(iters_ - iter_));
  return s;
}

void ProgressReporter::update(int64_t iter, double loss, double top1, int64_t images) {
  iter_ = iter;
  loss_ = loss;
  top1_ = top1;
  images_ = images;
  double t = now();
  if (opt_.live) {
    if (t - last_draw_ < opt_.redraw_seconds && iter != iters_) return;
    last_draw_ = t;
    out_ << "\r" << status_line() << "\x1b[K" << std::flush;
    bar_visible_ = true;
    return;
  }
  bool by_time = opt_.line_every_seconds > 0 && t - last_line_ >= opt_.line_every_seconds;
  bool by_iter = opt_.line_every_iters > 0 && iter - last_line_iter_ >= opt_.line_every_iters;
  if (!by_time && !by_iter) return;
  last_line_ = t;
  last_line_iter_ = iter;
  out_ << status_line() << "\n" << std::flush;
}

void ProgressReporter::clear() {
  if (bar_visible_) out_ << "\r\x1b[K" << std::flush;
  bar_visible_ = false;
}

void ProgressReporter::end_epoch(const EpochSummary& e) {
  clear();
  double elapsed = now() - start_;
  std::string s = label_;
  if (epochs_ > 0) s += " epoch " + std::to_string(epoch_) + "/" + std::to_string(epochs_);
  s += ":";
  if (std::isfinite(e.train_loss)) s += " loss " + fmt("%.4f", e.train_loss);
  if (std::isfinite(e.train_top1)) s += " top-1 " + fmt("%.2f", 100 * e.train_top1) + "%";
  bool val = std::isfinite(e.val_loss) || std::isfinite(e.val_top1);
  if (val) s += std::string(s.back() == ':' ? "" : " |") + " val";
  if (std::isfinite(e.val_loss)) s += " loss " + fmt("%.4f", e.val_loss);
  if (std::isfinite(e.val_top1)) s += " top-1 " + fmt("%.2f", 100 * e.val_top1) + "%";
  if (std::isfinite(e.val_top5)) s += " top-5 " + fmt("%.2f", 100 * e.val_top5) + "%";
  if (!e.extra.empty()) s += " | " + e.extra;
  if (e.images > 0 && elapsed > 0) s += " | " + fmt("%.0f", double(e.images) / elapsed) + " img/s";
  s += " | " + clock_text(elapsed);
  out_ << s << "\n" << std::flush;
}

}  // namespace wp
