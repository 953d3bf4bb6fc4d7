#pragma once
// Crash-safe file replacement: the new content goes to a temp file in the target's directory
// ("<path>.tmp-<pid>-<n>"), is fsync'ed, renamed over the target (atomic on POSIX within one
// file system), and the directory is fsync'ed so the rename itself survives a power loss.
// A reader therefore sees either the old file or the complete new one, never a torn mix; if the
// fill callback throws, the temp file is removed and the old file is left untouched.
//
// Errors: failing to create, write, sync or rename is a runtime failure (std::runtime_error
// naming the path and the system error), not bad input.
//
// Fault injection (tests only): WINOPRUNE_FAIL_WRITE="N[:SUBSTRING]" fails the N-th atomic write
// of the process whose path contains SUBSTRING with ENOSPC after half of its first write(2), as a
// full disk would; the temp file is removed and the old file stays, as for any other failure.
#include <cstddef>
#include <functional>
#include <string>

namespace wp {

// Buffered writer over the temp file's descriptor (1 MiB buffer: a 240 MB AlexNet checkpoint
// is ~240 write calls).
class FileSink {
 public:
  FileSink(int fd, std::string path);
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;
  void write(const void* data, size_t bytes);
  void write(const std::string& text) { write(text.data(), text.size()); }
  void flush();                        // buffer -> kernel (not fsync)
  size_t bytes_written() const { return total_; }

 private:
  friend void write_file_atomic(const std::string&, const std::function<void(FileSink&)>&);
  void write_all(const char* data, size_t bytes);
  bool inject_fault_ = false;          // WINOPRUNE_FAIL_WRITE (tests): fail as a full disk does
  int fd_;
  std::string path_;
  std::string buffer_;
  size_t total_ = 0;
};

// Replaces `path` atomically with what `fill` writes.
void write_file_atomic(const std::string& path, const std::function<void(FileSink&)>& fill);
void write_text_file_atomic(const std::string& path, const std::string& text);

// The whole file as a string; InputError "<path>: cannot open: <reason>" when unreadable.
std::string read_text_file(const std::string& path);

}  // namespace wp
