#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "modrt/error.hpp"
#include "workload.hpp"

namespace modrt::fs {

namespace {

// pivot_root cannot move the initial ramfs (the kernel's own rootfs has no parent to swap with).
bool root_is_initramfs() {
  struct statfs st {};
  if (::statfs("/", &st) < 0) return false;
  return st.f_type == RAMFS_MAGIC || st.f_type == TMPFS_MAGIC;
}

}  // namespace

void enter_root(Context& ctx, int root_fd) {
  if (::fchdir(root_fd) < 0) throw_errno("enter the container's root");
  // pivot_root(".", "."): the new root becomes "/" and the old root is stacked on top of it at
  // the same place, so it can be detached without any directory of the image serving as put_old.
  if (::syscall(SYS_pivot_root, ".", ".") == 0) {
    // MNT_DETACH: the host's tree stays busy (modrt's own fds) but leaves this namespace now;
    // nothing inside can reach it again, and /proc/self/mountinfo no longer lists it.
    if (::umount2(".", MNT_DETACH) < 0) throw_errno("detach the old root after pivot_root");
    if (::chdir("/") < 0) throw_errno("chdir / in the container's root");
    return;
  }
  int code = errno;
  if (code != EINVAL || !root_is_initramfs())
    throw_system_error(code, "pivot_root into the container's root");
  ctx.log().warn(
      "pivot_root is impossible with the host running from initramfs; falling back to chroot: "
      "the host's root stays mounted in the container's namespace, reachable by a process that "
      "escapes the chroot (CAP_SYS_CHROOT)");
  if (::chroot(".") < 0) throw_errno("chroot into the container's root");
  if (::chdir("/") < 0) throw_errno("chdir / in the container's root");
}

}  // namespace modrt::fs
