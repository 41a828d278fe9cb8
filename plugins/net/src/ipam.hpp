// Address leases and the other state the net stage shares between runs, kept as small files in
// one directory per network namespace (the netns the bridge lives in), shared by every modrt that
// can reach that netns's bridge and table, whatever its state root:
//
//   <dir>/lock                    flock(2) held by whoever reads or changes anything below
//   <dir>/pools/<bridge>/<ip>     one lease per container: "container= pid= start= veth= owner="
//   <dir>/pools/<bridge>/next     host index the next allocation starts from (round robin)
//   <dir>/ports/<proto>-<port>    a published host port: "container= address= owner="
//   <dir>/owned/<what>            things modrt created and removes after their last user
//
// <dir> is netns_state_dir(netns_cookie()): /run/modrt-net/<cookie> for root. Everything is done
// under the lock, so 100 runs started at once never share an address; the last user removes the
// whole directory (remove_if_unused).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "address.hpp"
#include "modrt/fd.hpp"

namespace modrt::net {

struct Lease {
  Ipv4 address;
  std::string container;
  pid_t pid = 0;            // the modrt process that took it
  uint64_t start_time = 0;  // its start time (/proc/PID/stat field 22): survives pid reuse
  std::string veth;         // host end of the container's veth
  // The run that holds it (a random token): container names are unique per state root only, and
  // several state roots share one netns, so ownership is checked by this when it is set.
  std::string owner;
};

// A lease is stale when its modrt is gone and so is its veth (which lives exactly as long as the
// container's netns): nobody can still be using the address.
bool lease_is_stale(const Lease& lease);
// Start time of a process, 0 when it does not exist.
uint64_t process_start_time(pid_t pid);

// SO_NETNS_COOKIE of the calling thread's network namespace: unique for the boot and never reused
// (an inode number of a dead netns can be).
uint64_t netns_cookie();
// The same for the netns a socket belongs to (no socket of its own to make).
uint64_t socket_netns_cookie(int socket_fd);
// Where the state shared in the netns with that cookie lives: /run/modrt-net/<cookie> for root;
// $XDG_RUNTIME_DIR/modrt-net/<cookie> (else /tmp/modrt-net-<uid>/<cookie>) for anyone else, who
// can only make bridges in a netns of their own user namespace, which nobody else shares.
std::filesystem::path netns_state_dir(uint64_t cookie);

class NetState {
 public:
  using StaleCheck = std::function<bool(const Lease&)>;

  // Creates dir if needed and blocks until this process holds its lock (of the directory that is at
  // that path when it returns: a last user may remove it while this one waits).
  explicit NetState(std::filesystem::path dir, StaleCheck stale = lease_is_stale);
  NetState(NetState&&) = default;
  const std::filesystem::path& dir() const { return dir_; }

  // A free address of subnet (never the network, broadcast or gateway address), leased to owner.
  // When the subnet looks full, stale leases are reclaimed first. Throws when it is full.
  // before_lease(address) runs right before the lease file is made (to record it in a ledger
  // first); should it throw, nothing is leased.
  Ipv4 allocate(const std::string& pool, const Cidr4& subnet, Ipv4 gateway, Lease owner,
                const std::function<void(Ipv4)>& before_lease = {});
  // Leases a chosen address; throws when a live container holds it.
  void claim(const std::string& pool, Lease owner);
  // Removes the lease of address when it is ours, false when it was not ours or absent. Ours: the
  // lease's owner token is `owner` (when both have one), else its container is `container`.
  bool release(const std::string& pool, Ipv4 address, const std::string& container,
               const std::string& owner = {});
  std::optional<Lease> lease(const std::string& pool, Ipv4 address) const;
  std::vector<Lease> leases(const std::string& pool) const;
  // Leases in every pool (the nft table is shared by all bridges).
  size_t total_leases() const;
  // Reclaims the stale leases of a pool; returns how many.
  size_t reclaim_stale(const std::string& pool);

  // Published host ports: claim throws naming the holder when another container has it.
  void claim_port(const std::string& proto, uint16_t port, const std::string& container,
                  Ipv4 address, const std::string& owner = {});
  bool release_port(const std::string& proto, uint16_t port, const std::string& container,
                    const std::string& owner = {});

  // Markers of what modrt created (a bridge, the nft table), so only the last user removes them.
  std::optional<std::string> marker(const std::string& name) const;
  void set_marker(const std::string& name, const std::string& value);
  void clear_marker(const std::string& name);

  // Nothing left: no lease, no port claim, no marker.
  bool unused() const;
  // When unused, removes the directory (lock file included) and returns true. Whoever waits for the
  // lock meanwhile notices it was removed and starts over on a new one (see the constructor).
  bool remove_if_unused();

 private:
  std::filesystem::path pool_dir(const std::string& pool) const;
  bool write_lease(const std::filesystem::path& path, const Lease& lease);

  std::filesystem::path dir_;
  StaleCheck stale_;
  UniqueFd lock_;
};

// "key=value" lines <-> Lease.
std::string format_lease(const Lease& lease);
std::optional<Lease> parse_lease(Ipv4 address, const std::string& text);

}  // namespace modrt::net
