#include "workload.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "layout.hpp"
#include "modrt/error.hpp"
#include "mount_api.hpp"

namespace modrt::fs {

namespace {

// Device nodes and container files get exactly the modes asked for; the workload's umask is
// restored before anything of its own runs.
class UmaskGuard {
 public:
  UmaskGuard() : saved_(::umask(0)) {}
  ~UmaskGuard() { ::umask(saved_); }
  UmaskGuard(const UmaskGuard&) = delete;
  UmaskGuard& operator=(const UmaskGuard&) = delete;

 private:
  mode_t saved_;
};

std::vector<UniqueFd> take(std::vector<UniqueFd>& from, size_t first, size_t count) {
  std::vector<UniqueFd> out;
  for (size_t i = first; i < first + count; ++i) out.push_back(std::move(from[i]));
  return out;
}

}  // namespace

void build_container_root(Context& ctx, const FsOptions& options,
                          std::vector<UniqueFd> host_mounts) {
  UmaskGuard umask;
  HostMountLayout layout = host_mount_layout(options, ctx.namespaces);

  // This namespace started as a copy of the host's mount table; on hosts whose "/" is shared the
  // copies are still peers of the host's mounts. As a slave, nothing mounted below propagates
  // back, while nothing of the host is cut off before the old root is detached.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0)
    throw_errno("make the mount namespace's / a slave of the host's");

  // The new root goes on top of "/" itself: no directory of the host is needed as a mount point
  // (one the container's root might not even be allowed to reach), and pivot_root(".", ".")
  // later swaps the two.
  UniqueFd console = clone_console(ctx);
  UniqueFd root = std::move(host_mounts[0]);
  with_context("attach the container's root", [&] { attach(root.get(), AT_FDCWD, "/"); });

  mount_proc(ctx, root.get());
  mount_dev(ctx, root.get(),
            layout.bind_devices ? take(host_mounts, layout.first_device(), kDevices.size())
                                : std::vector<UniqueFd>{},
            std::move(console));
  mount_sys(ctx, root.get(),
            layout.bind_sys ? std::move(host_mounts[layout.sys_index()]) : UniqueFd());
  mount_user_mounts(options, root.get(), take(host_mounts, layout.first_bind(), layout.binds));
  place_container_files(ctx, options, root.get());
  enter_root(ctx, root.get());
  protect_paths(options, root.get());
  if (options.readonly) {
    // Only the root mount itself: /dev, /proc, tmpfs and bind mounts keep their own flags.
    with_context("make the root read-only",
                 [&] { set_attrs(root.get(), "", false, {.set = MOUNT_ATTR_RDONLY}); });
  }
}

}  // namespace modrt::fs
