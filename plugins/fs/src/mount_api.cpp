#include "mount_api.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "modrt/error.hpp"

namespace modrt::fs {

namespace {

// The kernel's messages for a failed fsconfig: lines "e <text>" / "w <text>" read from the
// context fd. Empty when the filesystem logged nothing.
std::string drain_log(int fd) {
  std::string out;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    if (n <= 0) break;
    std::string_view line(buf, static_cast<size_t>(n));
    if (line.size() > 2 && line[1] == ' ') line.remove_prefix(2);
    if (!out.empty()) out += "; ";
    out += line;
  }
  return out;
}

// On a kernel without the new mount API (before 5.2) or without mount_setattr (5.12) the
// plain ENOSYS would not say what is missing.
[[noreturn]] void throw_mount_api_errno(const char* call, const char* since, std::string what) {
  int code = errno;
  if (code == ENOSYS) what += fmt::format(" ({} needs Linux {})", call, since);
  throw_system_error(code, std::move(what));
}

}  // namespace

FsContext::FsContext(const char* fstype) : fstype_(fstype) {
  int fd = ::fsopen(fstype, FSOPEN_CLOEXEC);
  if (fd < 0) throw_mount_api_errno("fsopen", "5.2", fmt::format("fsopen '{}'", fstype));
  fd_.reset(fd);
}

void FsContext::fail(std::string_view what) {
  int code = errno;
  std::string log = drain_log(fd_.get());
  std::string message = fmt::format("{} {}", fstype_, what);
  if (!log.empty()) message += fmt::format(" ({})", log);
  throw_system_error(code, message);
}

FsContext& FsContext::set(const char* key, std::string_view value) {
  std::string v(value);
  if (::fsconfig(fd_.get(), FSCONFIG_SET_STRING, key, v.c_str(), 0) < 0)
    fail(fmt::format("option {}={}", key, v));
  return *this;
}

FsContext& FsContext::flag(const char* key) {
  if (::fsconfig(fd_.get(), FSCONFIG_SET_FLAG, key, nullptr, 0) < 0)
    fail(fmt::format("option {}", key));
  return *this;
}

FsContext& FsContext::set_fd(const char* key, int fd) {
  if (::fsconfig(fd_.get(), FSCONFIG_SET_FD, key, nullptr, fd) < 0)
    fail(fmt::format("option {} (by file descriptor)", key));
  return *this;
}

bool FsContext::try_set_fd(const char* key, int fd) {
  if (::fsconfig(fd_.get(), FSCONFIG_SET_FD, key, nullptr, fd) == 0) return true;
  if (errno != EINVAL) fail(fmt::format("option {} (by file descriptor)", key));
  return false;
}

UniqueFd FsContext::mount(uint64_t attrs) {
  if (::fsconfig(fd_.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) fail("create");
  int mnt = ::fsmount(fd_.get(), FSMOUNT_CLOEXEC, static_cast<unsigned>(attrs));
  if (mnt < 0) fail("fsmount");
  return UniqueFd(mnt);
}

UniqueFd clone_tree(int dirfd, const char* path, bool recursive) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0u);
  if (*path == '\0') flags |= AT_EMPTY_PATH;
  int fd = ::open_tree(dirfd, path, flags);
  if (fd < 0) throw_mount_api_errno("open_tree", "5.2", "clone mount tree");
  return UniqueFd(fd);
}

UniqueFd try_clone_tree(int dirfd, const char* path, bool recursive) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0u);
  if (*path == '\0') flags |= AT_EMPTY_PATH;
  int fd = ::open_tree(dirfd, path, flags);
  if (fd < 0 && errno != EINVAL) throw_mount_api_errno("open_tree", "5.2", "clone mount tree");
  return fd < 0 ? UniqueFd() : UniqueFd(fd);
}

void attach(int mnt_fd, int dirfd, const char* path) {
  unsigned flags = MOVE_MOUNT_F_EMPTY_PATH;
  if (*path == '\0') flags |= MOVE_MOUNT_T_EMPTY_PATH;
  if (::move_mount(mnt_fd, "", dirfd, path, flags) < 0)
    throw_mount_api_errno("move_mount", "5.2", "attach mount");
}

void set_attrs(int dirfd, const char* path, bool recursive, const MountAttrs& attrs) {
  mount_attr attr{};
  attr.attr_set = attrs.set;
  attr.attr_clr = attrs.clear;
  attr.propagation = attrs.propagation;
  if (attrs.userns_fd >= 0) attr.userns_fd = static_cast<uint64_t>(attrs.userns_fd);
  unsigned flags = (recursive ? AT_RECURSIVE : 0u) | (*path == '\0' ? AT_EMPTY_PATH : 0u);
  if (::mount_setattr(dirfd, path, flags, &attr, sizeof attr) < 0)
    throw_mount_api_errno("mount_setattr", "5.12", "set mount attributes");
}

}  // namespace modrt::fs
