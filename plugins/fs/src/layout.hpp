// Which detached mounts modrt makes on the host and hands to the workload, in order. Both sides
// compute it from the same options and the workload's namespaces, so the list needs no description
// on the wire.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <cstdint>

#include "options.hpp"

namespace modrt::fs {

struct DeviceNode {
  const char* name;
  unsigned major;
  unsigned minor;
};
// The character devices every container gets in /dev.
inline constexpr std::array<DeviceNode, 6> kDevices{{{"null", 1, 3},
                                                     {"zero", 1, 5},
                                                     {"full", 1, 7},
                                                     {"random", 1, 8},
                                                     {"urandom", 1, 9},
                                                     {"tty", 5, 0}}};

struct HostMountLayout {
  // Under a user namespace mknod is refused, so the devices are bind mounts of the host's nodes.
  bool bind_devices = false;
  // sysfs shows the network devices of the mounter's netns: without a netns of its own the
  // container gets a read-only bind of the host's /sys instead of a fresh instance.
  bool bind_sys = false;
  size_t binds = 0;  // `mounts:` entries of type bind, in config order

  size_t count() const {
    return 1 + (bind_devices ? kDevices.size() : 0) + (bind_sys ? 1 : 0) + binds;
  }
  size_t first_device() const { return 1; }
  size_t sys_index() const { return 1 + (bind_devices ? kDevices.size() : 0); }
  size_t first_bind() const { return sys_index() + (bind_sys ? 1 : 0); }
};

HostMountLayout host_mount_layout(const FsOptions& options, uint64_t namespaces);

}  // namespace modrt::fs
