#include "remove_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "modrt/error.hpp"
#include "modrt/fd.hpp"

namespace modrt {

namespace {

// The mount an fd lives on. statx's mount id tells bind mounts of the same file system apart,
// which st_dev does not.
bool mount_id(int fd, uint64_t& id) {
  struct statx sx {};
  if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) < 0) return false;
  if (!(sx.stx_mask & STATX_MNT_ID)) return false;
  id = sx.stx_mnt_id;
  return true;
}

void remove_at(int parent_fd, uint64_t parent_mount, const std::string& name,
               const std::string& shown, std::vector<std::string>& left) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    left.push_back(shown + ": not a plain name");
    return;
  }
  if (::unlinkat(parent_fd, name.c_str(), 0) == 0 || errno == ENOENT) return;
  if (errno != EISDIR && errno != EPERM) {
    left.push_back(fmt::format("{}: {}", shown, std::strerror(errno)));
    return;
  }
  // O_NOFOLLOW: if the entry was swapped for a symlink meanwhile, the open fails instead of
  // walking to wherever it points.
  int raw = ::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (raw < 0) {
    if (errno != ENOENT) left.push_back(fmt::format("{}: {}", shown, std::strerror(errno)));
    return;
  }
  UniqueFd dir(raw);
  uint64_t mount = 0;
  if (!mount_id(dir.get(), mount) || mount != parent_mount) {
    left.push_back(shown + ": a mount point (left alone)");
    return;
  }
  std::vector<std::string> children;
  try {
    children = list_names(dir.get());
  } catch (const Error& e) {
    left.push_back(fmt::format("{}: {}", shown, e.what()));
    return;
  }
  for (const auto& child : children) remove_at(dir.get(), mount, child, shown + "/" + child, left);
  if (::unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT &&
      !(errno == ENOTEMPTY && !left.empty()))
    left.push_back(fmt::format("{}: {}", shown, std::strerror(errno)));
}

}  // namespace

std::vector<std::string> list_names(int dir_fd) {
  // A fresh open of ".", so the caller's fd keeps its own position and flags.
  int listing = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (listing < 0) throw_errno("list directory");
  DIR* stream = ::fdopendir(listing);
  if (!stream) {
    int code = errno;
    ::close(listing);
    throw_system_error(code, "list directory");
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(stream)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(stream);
  return names;
}

bool same_mount(int fd_a, int fd_b) {
  uint64_t a = 0, b = 0;
  return mount_id(fd_a, a) && mount_id(fd_b, b) && a == b;
}

std::vector<std::string> remove_tree_at(int parent_fd, const std::string& name) {
  std::vector<std::string> left;
  uint64_t parent_mount = 0;
  if (!mount_id(parent_fd, parent_mount)) {
    left.push_back(fmt::format("{}: cannot tell its mount: {}", name, std::strerror(errno)));
    return left;
  }
  remove_at(parent_fd, parent_mount, name, name, left);
  return left;
}

}  // namespace modrt
