// The host bridge every bridge-mode container hangs off: found or created, given the gateway
// address.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "address.hpp"
#include "modrt/netlink.hpp"

namespace modrt::net {

// What ensure_bridge did, so the last user undoes exactly that.
enum class BridgeChange { none, created, address_added };

struct BridgeResult {
  int ifindex = 0;
  BridgeChange change = BridgeChange::none;
};

// Refuses a subnet (and subnet6) that overlaps a host route or a host address on any interface but
// `ifindex` (0: any at all), naming the route or the interface: the container's traffic would
// otherwise be routed into someone else's network, or shadow one of the host's own addresses.
void check_subnet_free(nl_sock* sock, const Cidr4& subnet, const std::optional<Cidr6>& subnet6,
                       int ifindex);

// Called right before ensure_bridge changes anything, with what it is about to do (created or
// address_added), so the caller can record it durably first; called again with `none` when that
// step failed without changing anything (the record can go).
using BridgeIntent = std::function<void(BridgeChange)>;

// Makes sure `name` exists, is a bridge, is up and carries gateway/prefix. `known` says a previous
// run of modrt already set it up (skips the address check).
// With subnet6, the bridge also carries its first host address (the containers' IPv6 gateway).
BridgeResult ensure_bridge(nl_sock* sock, const std::string& name, const Cidr4& subnet,
                           Ipv4 gateway, const std::optional<Cidr6>& subnet6, bool known,
                           const BridgeIntent& intent);

}  // namespace modrt::net
