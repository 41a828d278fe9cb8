// Host side: writes the workload's uid_map, setgroups and gid_map while it waits at the sync point.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "modrt/context.hpp"

namespace modrt::ns {

enum class MapMethod {
  direct,  // write /proc/PID/{uid,gid}_map ourselves: privileged, or a single self-map
  helper,  // newuidmap/newgidmap (setuid, from package uidmap) check /etc/subuid for us
};

struct MapPlan {
  std::vector<IdMapping> uid_map;
  std::vector<IdMapping> gid_map;
  MapMethod uid_method = MapMethod::direct;
  MapMethod gid_method = MapMethod::direct;
  // Written before gid_map: the kernel requires it for an unprivileged self-map, and newgidmap
  // does it on its own when a map holds the caller's gid without a /etc/subgid grant.
  bool deny_setgroups = false;
  std::string newuidmap;
  std::string newgidmap;
};

void write_id_maps(pid_t pid, const MapPlan& plan);

}  // namespace modrt::ns
