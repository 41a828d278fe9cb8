#include "veth.hpp"

#include <net/if.h>
#include <sys/random.h>

#include <netlink/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>

#include <fmt/format.h>

#include "link.hpp"
#include "modrt/error.hpp"

namespace modrt::net {

namespace {

// The loopback device is always ifindex 1 in a network namespace (LOOPBACK_IFINDEX).
constexpr int kLoopbackIfindex = 1;

}  // namespace

void create_veth(nl_sock* host, const VethSpec& spec) {
  netlink::Object<rtnl_link> veth(rtnl_link_veth_alloc());
  if (!veth) throw Error("allocate veth: out of memory", ENOMEM);
  rtnl_link_set_name(veth.get(), spec.host_name.c_str());
  rtnl_link_set_master(veth.get(), spec.bridge_ifindex);
  rtnl_link_set_mtu(veth.get(), spec.mtu);
  rtnl_link_set_flags(veth.get(), IFF_UP);

  netlink::Object<rtnl_link> peer(rtnl_link_veth_get_peer(veth.get()));
  rtnl_link_set_name(peer.get(), spec.peer_name.c_str());
  rtnl_link_set_mtu(peer.get(), spec.mtu);
  // No IFF_UP on the peer here: the kernel opens it before the pair is linked (ENOTCONN). It is set
  // up from inside the netns, together with its address.
  // IFLA_NET_NS_FD on the peer: the kernel creates it in the workload's netns right away.
  rtnl_link_set_ns_fd(peer.get(), spec.netns_fd);
  netlink::Addr mac;
  if (spec.mac) {
    mac.reset(nl_addr_build(AF_LLC, spec.mac->data(), spec.mac->size()));
    rtnl_link_set_addr(peer.get(), mac.get());
  }
  netlink::check(rtnl_link_add(host, veth.get(), NLM_F_CREATE | NLM_F_EXCL),
                 "create veth '{}' with peer '{}' in netns of pid {}", spec.host_name,
                 spec.peer_name, spec.pid);
}

void loopback_up(nl_sock* inside) {
  set_link_up(inside, kLoopbackIfindex, "lo");
}

void configure_inside(nl_sock* inside, const InsideSpec& spec) {
  auto link = find_link(inside, spec.ifname);
  if (!link)
    throw Error(fmt::format("interface '{}' is missing in the workload's netns", spec.ifname),
                ENODEV);
  set_link_up(inside, link->ifindex, spec.ifname);
  add_address(inside, link->ifindex, spec.address, spec.ifname);
  add_default_route(inside, link->ifindex, spec.gateway, spec.ifname);
  if (!spec.address6.empty()) {
    add_address(inside, link->ifindex, spec.address6, spec.ifname);
    add_default_route(inside, link->ifindex, spec.gateway6, spec.ifname);
  }
}

std::string host_veth_name(const std::string& container) {
  uint16_t suffix = 0;
  if (::getrandom(&suffix, sizeof suffix, GRND_NONBLOCK) != sizeof suffix)
    suffix = static_cast<uint16_t>(::getpid());
  // 2 + 8 + 1 + 4 = 15 bytes: the longest name an interface may have.
  std::string stem = container.substr(0, 8);
  for (char& c : stem)
    if (c == '.') c = '_';
  return fmt::format("mr{}-{:04x}", stem, suffix);
}

}  // namespace modrt::net
