// Address leases and the other state the net stage shares between runs, kept as small files under
// <state root>/.net (DESIGN's /run/modrt/ipam: the state root is /run/modrt unless --root says
// otherwise; the dot keeps it apart from container names):
//
//   .net/lock                    flock(2) held by whoever reads or changes anything below
//   .net/pools/<bridge>/<ip>     one lease per container: "container= pid= start= veth="
//   .net/pools/<bridge>/next     host index the next allocation starts from (round robin)
//   .net/ports/<proto>-<port>    a published host port: "container= address="
//   .net/owned/<what>            things modrt created and removes after their last user
//
// Everything is done under the lock, so 100 runs started at once never share an address.
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
};

// A lease is stale when its modrt is gone and so is its veth (which lives exactly as long as the
// container's netns): nobody can still be using the address.
bool lease_is_stale(const Lease& lease);
// Start time of a process, 0 when it does not exist.
uint64_t process_start_time(pid_t pid);

class NetState {
 public:
  using StaleCheck = std::function<bool(const Lease&)>;

  // Creates dir if needed and blocks until this process holds its lock.
  explicit NetState(std::filesystem::path dir, StaleCheck stale = lease_is_stale);
  NetState(NetState&&) = default;
  const std::filesystem::path& dir() const { return dir_; }

  // A free address of subnet (never the network, broadcast or gateway address), leased to owner.
  // When the subnet looks full, stale leases are reclaimed first. Throws when it is full.
  Ipv4 allocate(const std::string& pool, const Cidr4& subnet, Ipv4 gateway, Lease owner);
  // Leases a chosen address; throws when a live container holds it.
  void claim(const std::string& pool, Lease owner);
  // Removes the lease of address when `container` holds it; false when it was not ours/absent.
  bool release(const std::string& pool, Ipv4 address, const std::string& container);
  std::optional<Lease> lease(const std::string& pool, Ipv4 address) const;
  std::vector<Lease> leases(const std::string& pool) const;
  // Leases in every pool (the nft table is shared by all bridges).
  size_t total_leases() const;
  // Reclaims the stale leases of a pool; returns how many.
  size_t reclaim_stale(const std::string& pool);

  // Published host ports: claim throws naming the holder when another container has it.
  void claim_port(const std::string& proto, uint16_t port, const std::string& container,
                  Ipv4 address);
  bool release_port(const std::string& proto, uint16_t port, const std::string& container);

  // Markers of what modrt created (a bridge, the nft table), so only the last user removes them.
  std::optional<std::string> marker(const std::string& name) const;
  void set_marker(const std::string& name, const std::string& value);
  void clear_marker(const std::string& name);

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
