#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <climits>

#include "layout.hpp"
#include "modrt/error.hpp"
#include "mount_api.hpp"
#include "resolve.hpp"
#include "workload.hpp"

namespace modrt::fs {

namespace {

constexpr uint64_t kNoSuidDevExec = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;

void make_dir(int dir_fd, const char* name) {
  if (::mkdirat(dir_fd, name, 0755) < 0 && errno != EEXIST) throw_errno("create /dev/{}", name);
}

bool gid_mapped(const Context& ctx, uint32_t gid) {
  return ctx.gid_map.empty() || map_to_host(ctx.gid_map, gid).has_value();
}

}  // namespace

UniqueFd clone_console(const Context& ctx) {
  if (!ctx.process.terminal || !::isatty(STDIN_FILENO)) return {};
  return with_context("bind the terminal onto /dev/console", [&] {
    // The pty lives in the host's devpts, which the container's own /dev/pts does not show. Its
    // mount can be cloned only through this namespace's copy of it, by path: fd 0 itself points
    // at the host namespace's mount.
    char name[PATH_MAX];
    if (int err = ::ttyname_r(STDIN_FILENO, name, sizeof name); err != 0)
      throw_system_error(err, "name the terminal on stdin");
    UniqueFd tree =
        with_context(fmt::format("'{}'", name), [&] { return clone_tree(AT_FDCWD, name, false); });
    struct stat want {};
    struct stat got {};
    if (::fstat(STDIN_FILENO, &want) < 0) throw_errno("stat stdin");
    if (::fstat(tree.get(), &got) < 0) throw_errno("stat '{}'", name);
    if (got.st_rdev != want.st_rdev || got.st_ino != want.st_ino)
      throw Error(fmt::format("'{}' is not the terminal on stdin", name));
    return tree;
  });
}

void mount_dev(Context& ctx, int root_fd, std::vector<UniqueFd> host_devices, UniqueFd console) {
  const bool userns = (ctx.namespaces & CLONE_NEWUSER) != 0;
  UniqueFd target = with_context("/dev", [&] { return kernel_mount_point(root_fd, "dev"); });
  UniqueFd dev = with_context("mount tmpfs on /dev", [&] {
    return FsContext("tmpfs")
        .set("mode", "755")
        .set("size", "65536k")
        .mount(MOUNT_ATTR_NOSUID | MOUNT_ATTR_STRICTATIME);
  });

  // Filled while still detached: the container never sees a half-made /dev.
  with_context("populate /dev", [&] {
    for (const auto& d : kDevices) {
      if (userns) {
        // Placeholder files the host's nodes are bound onto below (mknod needs the host's root).
        int fd = ::openat(dev.get(), d.name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
        if (fd < 0) throw_errno("create /dev/{}", d.name);
        ::close(fd);
      } else if (::mknodat(dev.get(), d.name, S_IFCHR | 0666, makedev(d.major, d.minor)) < 0) {
        throw_errno("mknod /dev/{}", d.name);
      }
    }
    static constexpr std::pair<const char*, const char*> kLinks[] = {{"fd", "/proc/self/fd"},
                                                                     {"stdin", "/proc/self/fd/0"},
                                                                     {"stdout", "/proc/self/fd/1"},
                                                                     {"stderr", "/proc/self/fd/2"},
                                                                     {"ptmx", "pts/ptmx"}};
    for (const auto& [name, link] : kLinks)
      if (::symlinkat(link, dev.get(), name) < 0) throw_errno("symlink /dev/{} -> {}", name, link);
    make_dir(dev.get(), "pts");
    make_dir(dev.get(), "shm");
    if (console) {
      // The mount point of the terminal's bind; 0620 like the pty itself.
      int fd = ::openat(dev.get(), "console", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0620);
      if (fd < 0) throw_errno("create /dev/console");
      ::close(fd);
    }
  });
  with_context("attach /dev", [&] { attach(dev.get(), target.get(), ""); });

  for (size_t i = 0; i < host_devices.size(); ++i) {
    with_context(fmt::format("bind the host's /dev/{}", kDevices[i].name),
                 [&] { attach(host_devices[i].get(), dev.get(), kDevices[i].name); });
  }

  if (console)
    with_context("bind the terminal onto /dev/console",
                 [&] { attach(console.get(), dev.get(), "console"); });

  with_context("mount devpts on /dev/pts", [&] {
    // Every devpts mount is a private instance (newinstance is implied since Linux 4.7); a
    // world-usable ptmx lets the container allocate terminals of its own.
    FsContext pts("devpts");
    pts.set("ptmxmode", "0666").set("mode", "0620");
    if (gid_mapped(ctx, 5)) pts.set("gid", "5");  // tty group, when the namespace has it
    attach(pts.mount(MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC).get(), dev.get(), "pts");
  });
  with_context("mount tmpfs on /dev/shm", [&] {
    UniqueFd shm =
        FsContext("tmpfs").set("mode", "1777").set("size", "65536k").mount(kNoSuidDevExec);
    attach(shm.get(), dev.get(), "shm");
  });
  // mqueue shows the mounter's IPC namespace; a user namespace may only mount the one it owns.
  if (!userns || (ctx.namespaces & CLONE_NEWIPC)) {
    with_context("mount mqueue on /dev/mqueue", [&] {
      make_dir(dev.get(), "mqueue");
      attach(FsContext("mqueue").mount(kNoSuidDevExec).get(), dev.get(), "mqueue");
    });
  }
}

}  // namespace modrt::fs
