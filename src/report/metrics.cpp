// metrics.jsonl writing, reading and resume truncation (contract: report/metrics.h).
#include "winoprune/report/metrics.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "winoprune/error.h"
#include "winoprune/io/atomic_file.h"
#include "winoprune/io/json_reader.h"

namespace wp {

namespace {

struct Line {
  int64_t line_no;
  std::string text;
  nlohmann::json value;
};

// Complete lines of the file (a torn final line is skipped); blank lines are ignored.
std::vector<Line> read_lines(const std::string& path) {
  std::vector<Line> out;
  std::ifstream probe(path);
  if (!probe) return out;
  probe.close();
  std::string all = read_text_file(path);
  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < all.size()) {
    size_t nl = all.find('\n', pos);
    bool complete = nl != std::string::npos;
    std::string text = all.substr(pos, complete ? nl - pos : std::string::npos);
    pos = complete ? nl + 1 : all.size();
    ++line_no;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string why;
    nlohmann::json j = json_parse_bounded(text, &why);
    if (j.is_discarded()) {
      if (!complete) break;   // torn write of the last record
      throw InputError(path + ":" + std::to_string(line_no) + ": not valid JSON: " + why);
    }
    if (!j.is_object())
      throw InputError(path + ":" + std::to_string(line_no) + ": expected a JSON object, got " +
                       json_brief(j));
    out.push_back({line_no, std::move(text), std::move(j)});
  }
  return out;
}

}  // namespace

nlohmann::json metrics_to_json(const MetricsRecord& r) {
  nlohmann::json j = {{"phase", r.phase},      {"phase_index", r.phase_index},
                      {"split", r.split},      {"epoch", r.epoch},
                      {"iter", r.iter},        {"step", r.step}};
  auto put = [&](const char* k, double v) {
    if (!std::isnan(v)) j[k] = v;
  };
  put("lr", r.lr);
  put("loss", r.loss);
  put("top1", r.top1);
  put("top5", r.top5);
  if (!r.sparsity.empty()) j["sparsity"] = r.sparsity;
  put("seconds", r.seconds);
  return j;
}

MetricsRecord metrics_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw InputError(where + ": expected a JSON object, got " + json_brief(j));
  constexpr double inf = std::numeric_limits<double>::infinity();
  constexpr int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  // Lenient: null reads as absent and unknown keys are ignored (records may grow).
  JsonReader in = JsonReader::lenient(j, "", where);
  MetricsRecord r;
  r.phase = in.string("phase", "");
  r.phase_index = int(in.integer("phase_index", 0, std::numeric_limits<int>::min(),
                                 std::numeric_limits<int>::max()));
  r.split = in.string("split", "train");
  r.epoch = in.integer("epoch", 0, lo, hi);
  r.iter = in.integer("iter", 0, lo, hi);
  r.step = in.integer("step", 0, lo, hi);
  r.lr = in.number("lr", MetricsRecord::none, -inf, inf);
  r.loss = in.number("loss", MetricsRecord::none, -inf, inf);
  r.top1 = in.number("top1", MetricsRecord::none, -inf, inf);
  r.top5 = in.number("top5", MetricsRecord::none, -inf, inf);
  r.seconds = in.number("seconds", MetricsRecord::none, -inf, inf);
  JsonReader sparsity = in.object("sparsity");   // {layer: fraction}
  for (const auto& item : sparsity.value().items())
    if (auto v = sparsity.optional_number(item.key().c_str(), -inf, inf))
      r.sparsity[item.key()] = *v;
  return r;
}

MetricsLog::MetricsLog(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw std::runtime_error(path + ": cannot open for appending: " + std::strerror(errno));
}

MetricsLog::~MetricsLog() {
  if (fd_ >= 0) ::close(fd_);
}

void MetricsLog::append(const nlohmann::json& record) {
  // NaN/inf are not JSON; nlohmann writes them as null, which readers take as "absent".
  std::string line = record.dump() + "\n";
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(path_ + ": write failed: " + std::strerror(errno));
    }
    p += n;
    left -= size_t(n);
  }
}

std::vector<nlohmann::json> read_metrics_json(const std::string& path) {
  std::vector<nlohmann::json> out;
  for (auto& l : read_lines(path)) out.push_back(std::move(l.value));
  return out;
}

std::vector<MetricsRecord> read_metrics(const std::string& path) {
  std::vector<MetricsRecord> out;
  for (const auto& l : read_lines(path))
    out.push_back(metrics_from_json(l.value, path + ":" + std::to_string(l.line_no)));
  return out;
}

size_t truncate_metrics(const std::string& path,
                        const std::function<bool(const MetricsRecord&)>& keep) {
  std::ifstream probe(path);
  if (!probe) return 0;
  probe.close();
  auto lines = read_lines(path);
  std::string kept;
  size_t dropped = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    MetricsRecord r =
        metrics_from_json(lines[i].value, path + ":" + std::to_string(lines[i].line_no));
    if (keep(r))
      kept += lines[i].text + "\n";
    else
      ++dropped;
  }
  write_text_file_atomic(path, kept);
  return dropped;
}

}  // namespace wp
