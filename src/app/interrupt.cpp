// SIGINT / SIGTERM: record the signal for the training loop (include/winoprune/app/interrupt.h).
#include "winoprune/app/interrupt.h"

#include <signal.h>

#include <atomic>
#include <filesystem>

namespace wp {

namespace {

std::atomic<int> g_signal{0};   // lock-free: safe to store from a signal handler

void on_signal(int sig) { g_signal.store(sig); }

}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;   // one-shot: a second signal takes the default action
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int interrupt_signal() { return g_signal.load(); }

void set_interrupt_signal(int signal) { g_signal.store(signal); }

int remove_stale_temp_files(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  int removed = 0;
  if (!fs::is_directory(dir, ec)) return 0;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    // "<file>.tmp-<pid>-<n>" (atomic_file.h) and "latest.safetensors.tmp" (the runner's link)
    const bool temp = name.find(".tmp-") != std::string::npos ||
                      (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0);
    if (temp && entry.is_regular_file(ec) && fs::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

}  // namespace wp
