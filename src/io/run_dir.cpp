// Run directory naming and creation (contract: io/run_dir.h).
#include "winoprune/io/run_dir.h"

#include <filesystem>
#include <system_error>

#include "winoprune/error.h"

namespace fs = std::filesystem;

namespace wp {

namespace {

std::string sanitize(const std::string& name) {
  std::string s = name.empty() ? "run" : name;
  for (char& c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) c = '-';
  }
  if (s == "." || s == "..") s = "run";
  return s;
}

void make_dirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) throw InputError(path + ": cannot create directory: " + ec.message());
}

}  // namespace

std::string default_run_dir(const std::string& name, std::time_t now) {
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  return "runs/" + sanitize(name) + "-" + stamp;
}

std::string default_run_dir(const std::string& name) {
  return default_run_dir(name, std::time(nullptr));
}

std::string RunDir::checkpoint(const std::string& phase, int64_t epoch) const {
  return checkpoints() + "/" + sanitize(phase) + "-" + std::to_string(epoch) + ".safetensors";
}

void check_run_dir_free(const std::string& path) {
  if (path.empty()) throw InputError("run directory: empty path");
  std::error_code ec;
  if (!fs::exists(path, ec)) return;
  if (!fs::is_directory(path, ec))
    throw InputError(path + ": exists and is not a directory; choose another --out");
  if (!fs::is_empty(path, ec))
    throw InputError(path + ": run directory exists and is not empty; choose another --out "
                     "or resume it with --resume " + path);
}

RunDir create_run_dir(const std::string& path, bool resume) {
  if (path.empty()) throw InputError("run directory: empty path");
  RunDir dir{path};
  std::error_code ec;
  bool exists = fs::exists(path, ec);
  if (resume) {
    if (!exists || !fs::is_directory(path, ec))
      throw InputError(path + ": cannot resume: no such run directory");
    if (!fs::exists(dir.config_json(), ec))
      throw InputError(path + ": cannot resume: " + dir.config_json() +
                       " is missing (not a winoprune run directory?)");
  } else if (exists) {
    check_run_dir_free(path);
  }
  make_dirs(path);
  make_dirs(dir.checkpoints());
  make_dirs(dir.plots());
  return dir;
}

std::string resume_checkpoint(const RunDir& dir) {
  std::error_code ec;
  std::string p = dir.latest_checkpoint();
  if (!fs::exists(p, ec))
    throw InputError(dir.root + ": cannot resume: no checkpoint (" + p + " is missing)");
  return p;
}

}  // namespace wp
