// Move-only owners of kernel file descriptors. Every fd modrt opens is O_CLOEXEC and lives in one
// of these, so no path (success, throw, early return) can leak it into the workload or the host.
#pragma once

#include <unistd.h>

#include <string>
#include <string_view>
#include <utility>

namespace modrt {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }

  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

  // Closing is never retried on EINTR: Linux frees the descriptor even when close() reports it.
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Opens a path (O_CLOEXEC added) or throws "open '<path>': <strerror>".
UniqueFd open_fd(const char* path, int flags, unsigned mode = 0);
UniqueFd open_fd_at(int dirfd, const char* path, int flags, unsigned mode = 0);

struct FdPair {
  UniqueFd first;
  UniqueFd second;
};
// socketpair(AF_UNIX, type | SOCK_CLOEXEC) or throw.
FdPair socket_pair(int type);
// pipe2(O_CLOEXEC) or throw; first is the read end.
FdPair make_pipe();

// Whole-file helpers for the small text files of /proc, /sys and cgroupfs: one open, one read or
// write, errors naming the path.
std::string read_file(const std::string& path);
void write_file(const std::string& path, std::string_view content);
// Like write_file, relative to dirfd (cgroup directories opened once, written many times).
void write_file_at(int dirfd, const char* name, std::string_view content);
std::string read_file_at(int dirfd, const char* name);

}  // namespace modrt
