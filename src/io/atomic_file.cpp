#include "winoprune/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "winoprune/error.h"

namespace wp {

namespace {

constexpr size_t kSinkBuffer = size_t(1) << 20;

[[noreturn]] void fail_errno(const std::string& path, const char* what) {
  throw std::runtime_error(path + ": " + what + ": " + std::strerror(errno));
}

std::string parent_dir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Unique per process and call: two threads writing different checkpoints never collide.
std::string temp_name(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail_errno(dir, "cannot open directory to sync it");
  // Some file systems (e.g. certain FUSE/overlay mounts) refuse fsync on a directory with
  // EINVAL; the rename already happened, so that is not worth failing the run for.
  if (::fsync(fd) != 0 && errno != EINVAL) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    fail_errno(dir, "cannot sync directory");
  }
  ::close(fd);
}

// Fault injection for tests: WINOPRUNE_FAIL_WRITE="N" or "N:SUBSTRING" makes the N-th atomic
// file write of the process (counting only paths that contain SUBSTRING) fail partway, as a full
// disk would: its first write(2) lands half its bytes, then ENOSPC. Read once; never set in
// normal use.
struct WriteFault {
  int64_t nth = 0;               // 0: no fault
  std::string substring;
  std::atomic<int64_t> seen{0};
  WriteFault() {
    const char* env = std::getenv("WINOPRUNE_FAIL_WRITE");
    if (!env || !*env) return;
    std::string spec(env);
    size_t colon = spec.find(':');
    nth = std::atoll(spec.substr(0, colon).c_str());
    if (colon != std::string::npos) substring = spec.substr(colon + 1);
  }
  // Whether the write of `path` that starts now is the one to fail.
  bool strikes(const std::string& path) {
    if (nth <= 0 || path.find(substring) == std::string::npos) return false;
    return ++seen == nth;
  }
};

WriteFault& write_fault() {
  static WriteFault fault;
  return fault;
}

}  // namespace

FileSink::FileSink(int fd, std::string path) : fd_(fd), path_(std::move(path)) {
  buffer_.reserve(kSinkBuffer);
}

void FileSink::write_all(const char* p, size_t left) {
  while (left > 0) {
    if (inject_fault_) {   // a torn temp file: half of this block lands, then the disk is full
      if (left > 1 && ::write(fd_, p, left / 2) < 0) fail_errno(path_, "write failed");
      errno = ENOSPC;
      fail_errno(path_, "write failed");
    }
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno(path_, "write failed");
    }
    p += n;
    left -= size_t(n);
  }
}

void FileSink::flush() {
  write_all(buffer_.data(), buffer_.size());
  buffer_.clear();
}

void FileSink::write(const void* data, size_t bytes) {
  const char* p = static_cast<const char*>(data);
  total_ += bytes;
  if (buffer_.size() + bytes > kSinkBuffer) flush();
  if (bytes >= kSinkBuffer) {
    write_all(p, bytes);   // large blocks bypass the buffer: no extra copy of a whole tensor
    return;
  }
  buffer_.append(p, bytes);
}

void write_file_atomic(const std::string& path, const std::function<void(FileSink&)>& fill) {
  std::string tmp = temp_name(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail_errno(tmp, "cannot create");
  try {
    FileSink sink(fd, tmp);
    sink.inject_fault_ = write_fault().strikes(path);
    fill(sink);
    sink.flush();
    if (::fsync(fd) != 0) fail_errno(tmp, "fsync failed");
    if (::close(fd) != 0) {
      fd = -1;
      fail_errno(tmp, "close failed");
    }
    fd = -1;
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail_errno(path, "cannot rename temp file over");
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  fsync_dir(parent_dir(path));
}

void write_text_file_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, [&](FileSink& sink) { sink.write(text); });
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw InputError(path + ": read failed");
  return ss.str();
}

}  // namespace wp
