// Thin wrappers over the new mount API (fsopen/fsconfig/fsmount, open_tree, move_mount,
// mount_setattr). The fs stage builds every mount detached and attaches it through a file
// descriptor, so no step depends on a path that could be swapped between lookup and mount.
#pragma once

#include <linux/mount.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "modrt/fd.hpp"

namespace modrt::fs {

// A filesystem context being configured (fsopen). Errors carry the kernel's own explanation,
// which fsconfig leaves in the context's message log ("overlayfs: workdir is in-use ...").
class FsContext {
 public:
  explicit FsContext(const char* fstype);
  FsContext& set(const char* key, std::string_view value);
  FsContext& flag(const char* key);
  FsContext& set_fd(const char* key, int fd);
  // set_fd that returns false instead of throwing when the file system refuses with EINVAL (an
  // unknown key, or one that takes no fd on this kernel).
  bool try_set_fd(const char* key, int fd);
  // Creates the superblock and returns a detached mount of it with MOUNT_ATTR_* flags.
  UniqueFd mount(uint64_t attrs = 0);

 private:
  [[noreturn]] void fail(std::string_view what);
  std::string fstype_;
  UniqueFd fd_;
};

// open_tree(OPEN_TREE_CLONE): a detached copy of the mount at dirfd/path ("" = dirfd itself).
UniqueFd clone_tree(int dirfd, const char* path, bool recursive);

// clone_tree that returns an empty fd where the kernel refuses with EINVAL, as kernels before
// ~6.15 do for a mount that is itself detached (only mounts of the caller's namespace qualify).
UniqueFd try_clone_tree(int dirfd, const char* path, bool recursive);

// Attaches the detached (or moves the attached) mount mnt_fd onto dirfd/path ("" = dirfd).
void attach(int mnt_fd, int dirfd, const char* path);

// mount_setattr on dirfd/path ("" = dirfd itself).
struct MountAttrs {
  uint64_t set = 0;
  uint64_t clear = 0;
  uint64_t propagation = 0;  // MS_PRIVATE, MS_SLAVE, MS_SHARED, MS_UNBINDABLE or 0
  int userns_fd = -1;        // with MOUNT_ATTR_IDMAP
};
void set_attrs(int dirfd, const char* path, bool recursive, const MountAttrs& attrs);

}  // namespace modrt::fs
