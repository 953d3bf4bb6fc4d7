// The run directory (naming, creation, resume) and progress output.
#include <ctime>
#include <filesystem>
#include <sstream>

#include "support.h"
#include "winoprune/io/atomic_file.h"
#include "winoprune/io/progress.h"
#include "winoprune/io/run_dir.h"

using namespace wp;
namespace fs = std::filesystem;

namespace {

std::string scratch_dir(const std::string& name) { return test::scratch_dir("io", name); }

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("run dir: default name, creation, refusal of a non-empty dir, resume", "[io]") {
  std::tm tm{};
  tm.tm_year = 2024 - 1900;
  tm.tm_mon = 2;
  tm.tm_mday = 7;
  tm.tm_hour = 9;
  tm.tm_min = 5;
  tm.tm_sec = 3;
  tm.tm_isdst = -1;
  std::time_t t = std::mktime(&tm);
  CHECK(default_run_dir("fmnist-prune", t) == "runs/fmnist-prune-20240307-090503");
  CHECK(default_run_dir("a b/c", t) == "runs/a-b-c-20240307-090503");

  std::string base = scratch_dir("rundir");
  std::string path = base + "/run1";
  RunDir d = create_run_dir(path, false);
  CHECK(fs::is_directory(d.checkpoints()));
  CHECK(fs::is_directory(d.plots()));
  CHECK(d.checkpoint("prune", 3) == path + "/checkpoints/prune-3.safetensors");

  // An existing empty directory is fine.
  fs::create_directories(base + "/empty");
  CHECK_NOTHROW(create_run_dir(base + "/empty", false));

  // Non-empty (it now has checkpoints/ and plots/): refused, naming the directory.
  CHECK_THROWS_AS(create_run_dir(path, false), InputError);
  CHECK_THROWS_WITH(create_run_dir(path, false),
                    Catch::Contains(path + ": run directory exists and is not empty"));
  // Resuming needs config.json and a checkpoint.
  CHECK_THROWS_WITH(create_run_dir(path, true), Catch::Contains("config.json"));
  write_text_file_atomic(d.config_json(), "{}\n");
  CHECK_NOTHROW(create_run_dir(path, true));
  CHECK_THROWS_WITH(resume_checkpoint(d), Catch::Contains("latest.safetensors is missing"));
  write_text_file_atomic(d.latest_checkpoint(), "x");
  CHECK(resume_checkpoint(d) == d.latest_checkpoint());
  CHECK_THROWS_AS(create_run_dir(base + "/never", true), InputError);
  // A file in the way.
  write_text_file_atomic(base + "/afile", "x");
  CHECK_THROWS_AS(create_run_dir(base + "/afile", false), InputError);
}

TEST_CASE("progress: throttled live bar, periodic plain lines, epoch summary", "[io]") {
  double t = 0;
  ProgressOptions live;
  live.live = true;
  live.clock = [&] { return t; };
  std::ostringstream out;
  ProgressReporter p(out, live);
  p.begin("prune", 3, 10, 100);
  for (int i = 1; i <= 100; ++i) {
    t += 0.01;   // 100 it/s over 1 s: at most ~5 redraws plus the first and the last
    p.update(i, 0.5, 0.8, i * 128);
  }
  std::string s = out.str();
  size_t redraws = count(s, "\r");
  CHECK(redraws >= 5);
  CHECK(redraws <= 7);
  CHECK_THAT(s, Catch::Contains("prune 3/10 [####################] 100/100  loss 0.5000  top-1 80.00%"));
  CHECK_THAT(s, Catch::Contains("12800 img/s"));
  EpochSummary e;
  e.train_loss = 0.5;
  e.val_top1 = 0.9;
  e.images = 12800;
  p.end_epoch(e);
  CHECK_THAT(out.str(), Catch::EndsWith("\r\x1b[Kprune epoch 3/10: loss 0.5000 | val top-1 90.00% | "
                                        "12800 img/s | 0:01\n"));

  ProgressOptions plain;
  plain.line_every_seconds = 0.245;   // 0.25 s less rounding of the summed clock
  plain.clock = [&] { return t; };
  std::ostringstream log;
  ProgressReporter q(log, plain);
  t = 0;
  q.begin("train", 1, 2, 100);
  for (int i = 1; i <= 100; ++i) {
    t += 0.01;
    q.update(i, 1.0, 0.5, i * 10);
  }
  std::string l = log.str();
  CHECK(l.find('\r') == std::string::npos);
  CHECK(count(l, "\n") == 4);   // every 0.25 s over 1 s
  CHECK_THAT(l, Catch::Contains("ETA 0:01"));
}
