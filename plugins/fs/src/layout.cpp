#include "layout.hpp"

#include <sched.h>

namespace modrt::fs {

HostMountLayout host_mount_layout(const FsOptions& options, uint64_t namespaces) {
  HostMountLayout layout;
  layout.bind_devices = (namespaces & CLONE_NEWUSER) != 0;
  layout.bind_sys = (namespaces & CLONE_NEWNET) == 0;
  for (const auto& m : options.mounts)
    if (m.type == MountSpec::Type::bind) ++layout.binds;
  return layout;
}

}  // namespace modrt::fs
