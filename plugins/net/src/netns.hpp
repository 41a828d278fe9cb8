// Finding a network namespace again from what a run's ledger says about it, so that `modrt gc` run
// from another netns can still undo a run inside the one it used (links, the nft table and the
// forwarding switch exist only there).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

#include "modrt/fd.hpp"

namespace modrt::net {

// The inode number of the calling thread's netns (what /proc/thread-self/ns/net stats to). Cheap,
// but reused after the netns dies: only a hint to find a candidate, the cookie decides.
ino_t netns_inode();

// The SO_NETNS_COOKIE of the netns behind fd (read on a short-lived thread that joins it).
uint64_t cookie_of_netns(int fd);

// An fd of the live netns with this cookie and inode, looked for everywhere a netns can be held
// from this mount namespace: nsfs mounts (/run/netns/*), processes and their threads, and fds
// processes hold (inode 0: any inode). nullopt when none is found: then nothing can enter that
// netns any more (short of a socket made in it, SIOCGSKNS, or a bind mount in another mount
// namespace), so it is gone or unreachable, and the objects in it with it.
std::optional<UniqueFd> find_netns(uint64_t cookie, ino_t inode);

}  // namespace modrt::net
