#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "modrt/error.hpp"
#include "mount_api.hpp"
#include "resolve.hpp"
#include "workload.hpp"

namespace modrt::fs {

namespace {

unsigned long propagation_flag(Propagation p) {
  switch (p) {
    case Propagation::slave:
      return MS_SLAVE;
    case Propagation::shared:
      return MS_SHARED;
    case Propagation::unbindable:
      return MS_UNBINDABLE;
    case Propagation::private_:
      break;
  }
  return MS_PRIVATE;
}

}  // namespace

void mount_user_mounts(const FsOptions& options, int root_fd, std::vector<UniqueFd> host_binds) {
  size_t next_bind = 0;
  for (const auto& m : options.mounts) {
    const bool bind = m.type == MountSpec::Type::bind;
    with_context(fmt::format("mount {} on '{}'", bind ? "bind" : "tmpfs", m.destination), [&] {
      UniqueFd mnt;
      Create kind = Create::directory;
      if (bind) {
        mnt = std::move(host_binds[next_bind++]);
        struct stat st {};
        if (::fstat(mnt.get(), &st) < 0) throw_errno("stat the bind source");
        if (!S_ISDIR(st.st_mode)) kind = Create::file;
      } else {
        FsContext tmpfs("tmpfs");
        if (m.size) tmpfs.set("size", std::to_string(*m.size));
        if (m.mode) tmpfs.set("mode", fmt::format("{:o}", *m.mode));
        uint64_t attrs = (m.readonly ? MOUNT_ATTR_RDONLY : 0) | (m.nosuid ? MOUNT_ATTR_NOSUID : 0) |
                         (m.nodev ? MOUNT_ATTR_NODEV : 0) | (m.noexec ? MOUNT_ATTR_NOEXEC : 0);
        mnt = tmpfs.mount(attrs);
      }
      Reached reached;
      UniqueFd target = resolve_in_root(root_fd, m.destination, kind, &reached);
      refuse_redirect_into_kernel_trees(m.destination, reached);
      attach(mnt.get(), target.get(), "");
      // Detached copies start private; other propagation is set on the attached tree.
      if (bind && m.propagation != Propagation::private_)
        set_attrs(mnt.get(), "", m.recursive, {.propagation = propagation_flag(m.propagation)});
    });
  }
}

}  // namespace modrt::fs
