// Who runs modrt, as far as id maps are concerned: its ids, whether it may write any map itself,
// which ids its own user namespace has, and what /etc/subuid and /etc/subgid grant it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "id_map.hpp"
#include "modrt/context.hpp"

namespace modrt::ns {

struct Caller {
  uint32_t uid = 0;  // effective ids: the kernel compares maps against these
  uint32_t gid = 0;
  std::string user_name;    // empty when the uid has no passwd entry
  bool can_setuid = false;  // CAP_SETUID / CAP_SETGID in its user namespace: may write any map
  bool can_setgid = false;
  bool can_sys_admin = false;          // may create namespaces without a user namespace, join any
  std::vector<IdMapping> own_uid_map;  // /proc/self/uid_map, gid_map
  std::vector<IdMapping> own_gid_map;
  std::vector<IdRange> subuids;  // grants from /etc/subuid, /etc/subgid
  std::vector<IdRange> subgids;
  std::string newuidmap;  // full paths of the uidmap helpers, empty when not installed
  std::string newgidmap;

  // Reads the running process and the files above.
  static Caller current();
};

}  // namespace modrt::ns
