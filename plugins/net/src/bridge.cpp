#include "bridge.hpp"

#include <net/if.h>

#include <algorithm>

#include <netlink/route/link.h>

#include <fmt/format.h>

#include "link.hpp"
#include "modrt/error.hpp"
#include "modrt/fd.hpp"

namespace modrt::net {

void check_subnet_free(nl_sock* sock, const Cidr4& subnet, int ifindex) {
  for (const auto& route : ipv4_routes(sock)) {
    if (ifindex != 0 && route.ifindex == ifindex) continue;
    if (!route.dst.overlaps(subnet)) continue;
    char name[IF_NAMESIZE] = "?";
    if (route.ifindex > 0) ::if_indextoname(static_cast<unsigned>(route.ifindex), name);
    throw Error(fmt::format("subnet {} overlaps the host route {} dev {}", subnet.str(),
                            route.dst.str(), name),
                EADDRINUSE);
  }
}

BridgeResult ensure_bridge(nl_sock* sock, const std::string& name, const Cidr4& subnet,
                           Ipv4 gateway, const std::optional<Cidr6>& subnet6, bool known) {
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
    check_subnet_free(sock, subnet, link->ifindex);
    add_address(sock, link->ifindex, gateway_cidr, name);
    if (subnet6)
      add_address(sock, link->ifindex,
                  fmt::format("{}/{}", subnet6->host(1).str(), subnet6->prefix), name);
    set_link_up(sock, link->ifindex, name);
    result.change = BridgeChange::address_added;
    return result;
  }

  check_subnet_free(sock, subnet, 0);
  netlink::Object<rtnl_link> bridge(rtnl_link_alloc());
  netlink::check(rtnl_link_set_type(bridge.get(), "bridge"), "bridge '{}'", name);
  rtnl_link_set_name(bridge.get(), name.c_str());
  rtnl_link_set_flags(bridge.get(), IFF_UP);
  netlink::check(rtnl_link_add(sock, bridge.get(), NLM_F_CREATE | NLM_F_EXCL), "create bridge '{}'",
                 name);
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
    // Not recorded yet: undo here so a half-made bridge never outlives this call.
    try {
      delete_link(sock, name);
    } catch (...) {
    }
    throw;
  }
  return result;
}

}  // namespace modrt::net
