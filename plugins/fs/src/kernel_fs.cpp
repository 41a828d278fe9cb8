#include <fcntl.h>
#include <sched.h>

#include "modrt/error.hpp"
#include "mount_api.hpp"
#include "resolve.hpp"
#include "workload.hpp"

namespace modrt::fs {

namespace {
constexpr uint64_t kNoSuidDevExec = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
}

UniqueFd kernel_mount_point(int root_fd, const char* name) {
  int fd = ::openat(root_fd, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
  // Missing: made as every mount point is (with resolve_in_root's message on a read-only image).
  if (fd < 0 && errno == ENOENT) return resolve_in_root(root_fd, name, Create::directory);
  if (fd < 0 && errno == ENOTDIR)
    throw Error(fmt::format("'/{}' is not a directory (a symlink or a file appeared after the "
                            "host checked it): the kernel file systems are mounted on real "
                            "directories only",
                            name),
                ENOTDIR);
  if (fd < 0) throw_errno("open '/{}' in the container's root", name);
  return UniqueFd(fd);
}

void mount_proc(Context&, int root_fd) {
  with_context("mount proc on /proc", [&] {
    UniqueFd target = kernel_mount_point(root_fd, "proc");
    // A fresh instance: it shows the workload's pid namespace, not the host's processes.
    attach(FsContext("proc").mount(kNoSuidDevExec).get(), target.get(), "");
  });
}

namespace {

// With a cgroup namespace the container may see its own cgroup subtree (read-only, like runc), and
// nothing above it: the host's hierarchies (its services, sibling containers) stay out of sight.
// Hosts that cannot offer a cgroup2 view here (v1-only, nested setups) just go without it.
void mount_cgroup_view(Context& ctx, int root_fd) {
  if (!(ctx.namespaces & CLONE_NEWCGROUP)) return;
  try {
    UniqueFd cg = resolve_in_root(root_fd, "/sys/fs/cgroup", Create::none);
    attach(FsContext("cgroup2").mount(kNoSuidDevExec | MOUNT_ATTR_RDONLY).get(), cg.get(), "");
  } catch (const Error& e) {
    ctx.log().warn("no cgroup2 view at /sys/fs/cgroup: {}", e.what());
  }
}

}  // namespace

void mount_sys(Context& ctx, int root_fd, UniqueFd host_sys) {
  UniqueFd target = with_context("/sys", [&] { return kernel_mount_point(root_fd, "sys"); });
  if (host_sys) {
    // Without a net namespace of its own the container cannot have a fresh sysfs; it gets the
    // host's, whose /sys/fs/cgroup would show every host hierarchy, so that part is covered.
    with_context("bind the host's /sys on /sys", [&] { attach(host_sys.get(), target.get(), ""); });
    mount_cgroup_view(ctx, root_fd);
    return;
  }
  with_context("mount sysfs on /sys", [&] {
    attach(FsContext("sysfs").mount(kNoSuidDevExec | MOUNT_ATTR_RDONLY).get(), target.get(), "");
  });
  mount_cgroup_view(ctx, root_fd);
}

}  // namespace modrt::fs
