#include "modrt/fd.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include "modrt/error.hpp"

namespace modrt {

UniqueFd open_fd(const char* path, int flags, unsigned mode) {
  return open_fd_at(AT_FDCWD, path, flags, mode);
}

UniqueFd open_fd_at(int dirfd, const char* path, int flags, unsigned mode) {
  int fd = ::openat(dirfd, path, flags | O_CLOEXEC, mode);
  if (fd < 0) throw_errno("open '{}'", path);
  return UniqueFd(fd);
}

FdPair socket_pair(int type) {
  int fds[2];
  if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) < 0) throw_errno("socketpair");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

FdPair make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) throw_errno("pipe");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

namespace {

std::string read_all(int fd, const char* name) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("read '{}'", name);
    }
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

void write_all(int fd, std::string_view content, const char* name) {
  // Kernel interface files take one write() per value; a short write is an error, not a retry.
  ssize_t n = ::write(fd, content.data(), content.size());
  if (n < 0) throw_errno("write '{}'", name);
  if (static_cast<size_t>(n) != content.size())
    throw Error(fmt::format("write '{}': short write ({} of {} bytes)", name, n, content.size()));
}

}  // namespace

std::string read_file(const std::string& path) {
  return read_file_at(AT_FDCWD, path.c_str());
}

void write_file(const std::string& path, std::string_view content) {
  write_file_at(AT_FDCWD, path.c_str(), content);
}

void write_file_at(int dirfd, const char* name, std::string_view content) {
  UniqueFd fd = open_fd_at(dirfd, name, O_WRONLY);
  write_all(fd.get(), content, name);
}

std::string read_file_at(int dirfd, const char* name) {
  UniqueFd fd = open_fd_at(dirfd, name, O_RDONLY);
  return read_all(fd.get(), name);
}

}  // namespace modrt
