// The container's link: a veth pair whose host end joins the bridge and whose peer is born inside
// the workload's netns, then the addresses and routes of that netns.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "address.hpp"
#include "modrt/netlink.hpp"

namespace modrt::net {

struct VethSpec {
  std::string host_name;  // host end, on the bridge
  int bridge_ifindex = 0;
  int netns_fd = -1;      // the workload's netns
  pid_t pid = -1;         // for messages
  std::string peer_name;  // inside the netns (eth0)
  unsigned mtu = 1500;
  std::optional<std::array<uint8_t, 6>> mac;
};

// One RTM_NEWLINK: the host end created up and enslaved to the bridge, the peer created directly in
// the target netns and named (brought up from inside, see configure_inside). Creating the peer in
// place costs ~0.5 ms; creating it on the host and moving it costs ~16 ms, nearly all of it the
// kernel waiting for the move (synchronize_net).
void create_veth(nl_sock* host, const VethSpec& spec);

struct InsideSpec {
  std::string ifname;    // the peer, already up
  std::string address;   // "10.88.0.2/16"
  std::string gateway;   // "10.88.0.1"
  std::string address6;  // "fd00:88::2/64" or empty
  std::string gateway6;
};

// Through a socket bound to the workload's netns: the peer up, its addresses, the default routes.
void configure_inside(nl_sock* inside, const InsideSpec& spec);
// lo up (every mode with a netns of its own).
void loopback_up(nl_sock* inside);

// A host-side veth name that is unique per run (a dying netns of an earlier run with the same
// container name may still hold the old pair for a few milliseconds): "mr" + name + random suffix.
std::string host_veth_name(const std::string& container);

}  // namespace modrt::net
