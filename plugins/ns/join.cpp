#include "join.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "id_map.hpp"
#include "modrt/error.hpp"

namespace modrt::ns {

NamespaceFile open_namespace_file(const std::string& path, const NamespaceKind& kind) {
  NamespaceFile file;
  file.fd = open_fd(path.c_str(), O_RDONLY);
  int type = ::ioctl(file.fd.get(), NS_GET_NSTYPE);
  if (type < 0) {
    if (errno == ENOTTY || errno == EINVAL)
      throw Error(fmt::format("'{}' is not a namespace file (expected one like /proc/PID/ns/{})",
                              path, kind.proc_name));
    throw_errno("read the namespace type of '{}'", path);
  }
  if (static_cast<uint64_t>(type) != kind.flag)
    throw Error(fmt::format("'{}' is a {} namespace, not a {} namespace", path,
                            kind_of_flag(static_cast<uint64_t>(type)).name, kind.name));
  if (kind.flag == CLONE_NEWUSER) {
    uid_t owner = 0;
    if (::ioctl(file.fd.get(), NS_GET_OWNER_UID, &owner) < 0)
      throw_errno("read the owner of user namespace '{}'", path);
    file.owner_uid = owner;
  }
  return file;
}

void join_namespace(int fd, const NamespaceKind& kind, const std::string& path) {
  if (::setns(fd, static_cast<int>(kind.flag)) < 0)
    throw_errno("join {} namespace '{}'", kind.name, path);
}

}  // namespace modrt::ns

namespace modrt::ns {

namespace {

// In the forked child: only raw system calls, then _exit.
[[noreturn]] void send_maps_and_exit(int ns_fd, int out_fd) {
  if (::setns(ns_fd, CLONE_NEWUSER) < 0) ::_exit(10);
  for (const char* file : {"/proc/self/uid_map", "/proc/self/gid_map"}) {
    char buf[8192];
    int fd = ::open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) ::_exit(11);
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) ::_exit(12);
    // '#' ends each map: it never occurs in one.
    if (::write(out_fd, buf, static_cast<size_t>(n)) != n || ::write(out_fd, "#", 1) != 1)
      ::_exit(13);
    ::close(fd);
  }
  ::_exit(0);
}

}  // namespace

std::pair<std::vector<IdMapping>, std::vector<IdMapping>> read_user_namespace_maps(
    int fd, const std::string& path) {
  FdPair pipe = make_pipe();
  pid_t child = ::fork();
  if (child < 0) throw_errno("fork to read the maps of user namespace '{}'", path);
  if (child == 0) send_maps_and_exit(fd, pipe.second.get());
  pipe.second.reset();
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(pipe.first.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error(fmt::format("read the maps of user namespace '{}': helper process failed ({})",
                            path, WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  size_t split = text.find('#');
  if (split == std::string::npos)
    throw Error(fmt::format("read the maps of user namespace '{}': unexpected format", path));
  return {parse_proc_map(text.substr(0, split)), parse_proc_map(text.substr(split + 1))};
}

}  // namespace modrt::ns
