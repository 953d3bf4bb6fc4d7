#pragma once
// RUN_DIR/metrics.jsonl: one JSON object per line, appended as the run goes. A line is written
// with a single write(2) on an O_APPEND descriptor, so a crash leaves at most one torn final
// line (which readers ignore) and everything before it is on disk for the next process.
//
// Record schema (MetricsRecord below; readers ignore unknown keys, absent numbers are NaN and
// are written as null or left out):
//   {"phase": "prune", "phase_index": 2, "split": "train" | "val",
//    "epoch": 3, "iter": 120, "step": 5120, "lr": 0.001, "loss": 0.41, "top1": 0.86,
//    "top5": 0.99, "sparsity": {"conv2": 0.9, ...}, "seconds": 812.5}
//   phase        the phase's type ("train", "convert", "prune", "finetune", "eval", ...)
//   phase_index  its position in config.phases (markers on the plots are drawn where it changes)
//   split        "train": running means over the iterations since the previous train record;
//                "val": a full evaluation of the validation split
//   epoch        1-based epoch within the phase; iter: iterations done within the phase
//   step         iterations done since the run started, over all phases (the plots' x axis)
//   seconds      wall seconds since the run started (over resumes: the resumed process adds its
//                checkpoint's elapsed time)
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace wp {

struct MetricsRecord {
  static constexpr double none = std::numeric_limits<double>::quiet_NaN();
  std::string phase;
  int phase_index = 0;
  std::string split = "train";
  int64_t epoch = 0;
  int64_t iter = 0;
  int64_t step = 0;
  double lr = none;
  double loss = none;
  double top1 = none;
  double top5 = none;
  std::map<std::string, double> sparsity;
  double seconds = none;
};

nlohmann::json metrics_to_json(const MetricsRecord& r);
// `where` prefixes messages ("runs/x/metrics.jsonl:17"). Throws InputError on a wrong type.
MetricsRecord metrics_from_json(const nlohmann::json& j, const std::string& where);

class MetricsLog {
 public:
  // Opens (creating if needed) `path` for appending.
  explicit MetricsLog(const std::string& path);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  void append(const nlohmann::json& record);   // one line, on disk (page cache) when it returns
  void append(const MetricsRecord& record) { append(metrics_to_json(record)); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

// Every complete line as JSON. A missing file reads as empty. A final line without its newline
// that does not parse is a torn write and is skipped; any other bad line is an InputError
// naming "<path>:<line>".
std::vector<nlohmann::json> read_metrics_json(const std::string& path);
std::vector<MetricsRecord> read_metrics(const std::string& path);

// For resuming: rewrites the file (atomically) keeping only the records for which keep(record)
// is true, e.g. keep = [&](const MetricsRecord& r) { return r.step <= resumed_step; }. Kept
// lines are copied byte for byte (unknown keys survive). A torn final line is dropped. Returns
// the number of records dropped. A missing file is left missing (returns 0). Call it before
// opening the MetricsLog: the rewrite replaces the file, and a descriptor opened earlier would
// keep appending to the old one.
size_t truncate_metrics(const std::string& path,
                        const std::function<bool(const MetricsRecord&)>& keep);

}  // namespace wp
