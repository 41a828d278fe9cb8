#include "bridge.hpp"

#include <net/if.h>

#include <algorithm>

#include <netlink/route/link.h>

#include <fmt/format.h>

#include "link.hpp"
#include "modrt/error.hpp"
#include "modrt/fd.hpp"

namespace modrt::net {

namespace {

std::string ifname_of(int ifindex) {
  char name[IF_NAMESIZE] = "?";
  if (ifindex > 0) ::if_indextoname(static_cast<unsigned>(ifindex), name);
  return name;
}

}  // namespace

void check_subnet_free(nl_sock* sock, const Cidr4& subnet, const std::optional<Cidr6>& subnet6,
                       int ifindex) {
  for (const auto& route : ipv4_routes(sock)) {
    if (ifindex != 0 && route.ifindex == ifindex) continue;
    if (!route.dst.overlaps(subnet)) continue;
    throw Error(fmt::format("subnet {} overlaps the host route {} dev {}", subnet.str(),
                            route.dst.str(), ifname_of(route.ifindex)),
                EADDRINUSE);
  }
  if (subnet6) {
    for (const auto& route : ipv6_routes(sock)) {
      if (ifindex != 0 && route.ifindex == ifindex) continue;
      if (!route.dst.overlaps(*subnet6)) continue;
      throw Error(fmt::format("subnet6 {} overlaps the host route {} dev {}", subnet6->str(),
                              route.dst.str(), ifname_of(route.ifindex)),
                  EADDRINUSE);
    }
  }
  // An address without a route of its own in the main table (a /32, noprefixroute, one in another
  // routing table) is still the host's: a container given it would shadow it.
  for (const auto& address : all_addresses(sock)) {
    if (ifindex != 0 && address.ifindex == ifindex) continue;
    if (address.v4) {
      Cidr4 network{Ipv4{address.v4->base.value & address.v4->mask()}, address.v4->prefix};
      if (network.overlaps(subnet))
        throw Error(fmt::format("subnet {} overlaps the address {} of interface {}", subnet.str(),
                                address.v4->str(), ifname_of(address.ifindex)),
                    EADDRINUSE);
    }
    if (address.v6 && subnet6 && address.v6->overlaps(*subnet6))
      throw Error(fmt::format("subnet6 {} overlaps the address {} of interface {}", subnet6->str(),
                              address.v6->str(), ifname_of(address.ifindex)),
                  EADDRINUSE);
  }
}

BridgeResult ensure_bridge(nl_sock* sock, const std::string& name, const Cidr4& subnet,
                           Ipv4 gateway, const std::optional<Cidr6>& subnet6, bool known,
                           const BridgeIntent& intent) {
  std::string gateway_cidr = fmt::format("{}/{}", gateway.str(), subnet.prefix);
  BridgeResult result;
  auto link = find_link(sock, name);
  if (link && known) {
    result.ifindex = link->ifindex;
    return result;
  }
  if (link) {
    if (link->kind != "bridge")
      throw Error(fmt::format("interface '{}' exists and is a {}, not a bridge", name,
                              link->kind.empty() ? "plain device" : link->kind),
                  EEXIST);
    result.ifindex = link->ifindex;
    auto addresses = ipv4_addresses(sock, link->ifindex);
    if (std::find(addresses.begin(), addresses.end(), gateway_cidr) != addresses.end()) {
      set_link_up(sock, link->ifindex, name);
      return result;
    }
    if (!addresses.empty())
      throw Error(fmt::format("bridge '{}' exists with address {}, not the gateway {} of subnet {}",
                              name, addresses.front(), gateway_cidr, subnet.str()),
                  EEXIST);
    check_subnet_free(sock, subnet, subnet6, link->ifindex);
    intent(BridgeChange::address_added);
    add_address(sock, link->ifindex, gateway_cidr, name);
    if (subnet6)
      add_address(sock, link->ifindex,
                  fmt::format("{}/{}", subnet6->host(1).str(), subnet6->prefix), name);
    set_link_up(sock, link->ifindex, name);
    result.change = BridgeChange::address_added;
    return result;
  }

  check_subnet_free(sock, subnet, subnet6, 0);
  netlink::Object<rtnl_link> bridge(rtnl_link_alloc());
  netlink::check(rtnl_link_set_type(bridge.get(), "bridge"), "bridge '{}'", name);
  rtnl_link_set_name(bridge.get(), name.c_str());
  rtnl_link_set_flags(bridge.get(), IFF_UP);
  intent(BridgeChange::created);
  if (int rc = rtnl_link_add(sock, bridge.get(), NLM_F_CREATE | NLM_F_EXCL); rc < 0) {
    // Nothing was made (EEXIST: someone else's, which must never be "undone").
    intent(BridgeChange::none);
    netlink::check(rc, "create bridge '{}'", name);
  }
  result.change = BridgeChange::created;
  try {
    auto created = find_link(sock, name);
    if (!created) throw Error(fmt::format("bridge '{}' vanished right after its creation", name));
    result.ifindex = created->ifindex;
    // Lets the host reach a published port at 127.0.0.1: the output hook's DNAT sends the packet,
    // still from 127.0.0.1, out through this bridge (the table masquerades it on the way).
    write_file(fmt::format("/proc/sys/net/ipv4/conf/{}/route_localnet", name), "1");
    add_address(sock, result.ifindex, gateway_cidr, name);
    if (subnet6)
      add_address(sock, result.ifindex,
                  fmt::format("{}/{}", subnet6->host(1).str(), subnet6->prefix), name);
  } catch (...) {
    // Undone here so a half-made bridge never outlives this call; should this fail too, the
    // caller's record of the intent lets rollback retry.
    try {
      delete_link(sock, name);
    } catch (...) {
    }
    throw;
  }
  return result;
}

}  // namespace modrt::net
