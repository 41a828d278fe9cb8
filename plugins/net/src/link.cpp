#include "link.hpp"

#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <cstring>

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include <fmt/format.h>

#include "modrt/error.hpp"

namespace modrt::net {

using netlink::check;
using netlink::Object;

std::optional<LinkInfo> find_link(nl_sock* sock, const std::string& name) {
  rtnl_link* raw = nullptr;
  int rc = rtnl_link_get_kernel(sock, 0, name.c_str(), &raw);
  if (rc == -NLE_NODEV || rc == -NLE_OBJ_NOTFOUND) return std::nullopt;
  check(rc, "look up interface '{}'", name);
  Object<rtnl_link> link(raw);
  LinkInfo info;
  info.ifindex = rtnl_link_get_ifindex(raw);
  if (const char* type = rtnl_link_get_type(raw)) info.kind = type;
  return info;
}

bool delete_link(nl_sock* sock, const std::string& name) {
  Object<rtnl_link> link(rtnl_link_alloc());
  rtnl_link_set_name(link.get(), name.c_str());
  int rc = rtnl_link_delete(sock, link.get());
  if (rc == -NLE_NODEV || rc == -NLE_OBJ_NOTFOUND) return false;
  check(rc, "delete interface '{}'", name);
  return true;
}

void set_link_up(nl_sock* sock, int ifindex, const std::string& name) {
  Object<rtnl_link> orig(rtnl_link_alloc());
  Object<rtnl_link> change(rtnl_link_alloc());
  rtnl_link_set_ifindex(orig.get(), ifindex);
  rtnl_link_set_flags(change.get(), IFF_UP);
  check(rtnl_link_change(sock, orig.get(), change.get(), 0), "set interface '{}' up", name);
}

namespace {

Object<rtnl_addr> make_addr(int ifindex, const std::string& cidr) {
  netlink::Addr local = netlink::parse_addr(cidr);
  Object<rtnl_addr> addr(rtnl_addr_alloc());
  rtnl_addr_set_ifindex(addr.get(), ifindex);
  rtnl_addr_set_family(addr.get(), nl_addr_get_family(local.get()));
  check(rtnl_addr_set_local(addr.get(), local.get()), "address '{}'", cidr);
  rtnl_addr_set_prefixlen(addr.get(), static_cast<int>(nl_addr_get_prefixlen(local.get())));
  return addr;
}

}  // namespace

void add_address(nl_sock* sock, int ifindex, const std::string& cidr, const std::string& ifname) {
  auto addr = make_addr(ifindex, cidr);
  if (nl_addr_get_family(rtnl_addr_get_local(addr.get())) == AF_INET6)
    // No duplicate address detection: the address is unique by construction (IPAM), and DAD would
    // leave it "tentative" (unusable) for a second after the workload starts.
    rtnl_addr_set_flags(addr.get(), IFA_F_NODAD);
  check(rtnl_addr_add(sock, addr.get(), NLM_F_CREATE | NLM_F_EXCL), "add address {} to '{}'", cidr,
        ifname);
}

bool delete_address(nl_sock* sock, int ifindex, const std::string& cidr) {
  auto addr = make_addr(ifindex, cidr);
  int rc = rtnl_addr_delete(sock, addr.get(), 0);
  if (rc == -NLE_NOADDR || rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV) return false;
  check(rc, "delete address {}", cidr);
  return true;
}

std::vector<std::string> ipv4_addresses(nl_sock* sock, int ifindex) {
  nl_cache* raw = nullptr;
  check(rtnl_addr_alloc_cache(sock, &raw), "list addresses");
  netlink::Cache cache(raw);
  std::vector<std::string> out;
  for (nl_object* obj = nl_cache_get_first(raw); obj; obj = nl_cache_get_next(obj)) {
    auto* addr = reinterpret_cast<rtnl_addr*>(obj);
    if (rtnl_addr_get_ifindex(addr) != ifindex || rtnl_addr_get_family(addr) != AF_INET) continue;
    char buf[64];
    nl_addr2str(rtnl_addr_get_local(addr), buf, sizeof buf);
    std::string text = buf;
    if (text.find('/') == std::string::npos) {
      // Appended in two steps: GCC 12's -O3 reports a false -Wrestrict on `s += "/" + x`.
      text += '/';
      text += std::to_string(rtnl_addr_get_prefixlen(addr));
    }
    out.push_back(text);
  }
  return out;
}

void add_default_route(nl_sock* sock, int ifindex, const std::string& gateway,
                       const std::string& ifname) {
  netlink::Addr gw = netlink::parse_addr(gateway);
  int family = nl_addr_get_family(gw.get());
  netlink::Addr dst = netlink::parse_addr(family == AF_INET6 ? "::/0" : "0.0.0.0/0");
  Object<rtnl_route> route(rtnl_route_alloc());
  rtnl_route_set_family(route.get(), static_cast<uint8_t>(family));
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_protocol(route.get(), RTPROT_STATIC);
  rtnl_route_set_scope(route.get(), RT_SCOPE_UNIVERSE);
  check(rtnl_route_set_dst(route.get(), dst.get()), "route destination");
  rtnl_nexthop* nh = rtnl_route_nh_alloc();  // owned by the route once added
  rtnl_route_nh_set_ifindex(nh, ifindex);
  rtnl_route_nh_set_gateway(nh, gw.get());
  rtnl_route_add_nexthop(route.get(), nh);
  check(rtnl_route_add(sock, route.get(), NLM_F_CREATE | NLM_F_EXCL),
        "add default route via {} dev '{}'", gateway, ifname);
}

std::vector<RouteInfo> ipv4_routes(nl_sock* sock) {
  nl_cache* raw = nullptr;
  check(rtnl_route_alloc_cache(sock, AF_INET, 0, &raw), "list routes");
  netlink::Cache cache(raw);
  std::vector<RouteInfo> out;
  for (nl_object* obj = nl_cache_get_first(raw); obj; obj = nl_cache_get_next(obj)) {
    auto* route = reinterpret_cast<rtnl_route*>(obj);
    if (rtnl_route_get_table(route) != RT_TABLE_MAIN) continue;
    nl_addr* dst = rtnl_route_get_dst(route);
    if (!dst || nl_addr_get_prefixlen(dst) == 0 || nl_addr_get_len(dst) != 4) continue;
    uint32_t be = 0;
    std::memcpy(&be, nl_addr_get_binary_addr(dst), 4);
    RouteInfo info;
    info.dst.prefix = nl_addr_get_prefixlen(dst);
    info.dst.base = Ipv4{ntohl(be) & Cidr4{Ipv4{}, info.dst.prefix}.mask()};
    if (rtnl_route_get_nnexthops(route) > 0)
      info.ifindex = rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(route, 0));
    out.push_back(info);
  }
  return out;
}

std::vector<Route6Info> ipv6_routes(nl_sock* sock) {
  nl_cache* raw = nullptr;
  check(rtnl_route_alloc_cache(sock, AF_INET6, 0, &raw), "list IPv6 routes");
  netlink::Cache cache(raw);
  std::vector<Route6Info> out;
  for (nl_object* obj = nl_cache_get_first(raw); obj; obj = nl_cache_get_next(obj)) {
    auto* route = reinterpret_cast<rtnl_route*>(obj);
    if (rtnl_route_get_table(route) != RT_TABLE_MAIN) continue;
    nl_addr* dst = rtnl_route_get_dst(route);
    if (!dst || nl_addr_get_prefixlen(dst) == 0 || nl_addr_get_len(dst) != 16) continue;
    Route6Info info;
    std::memcpy(info.dst.base.bytes.data(), nl_addr_get_binary_addr(dst), 16);
    info.dst.prefix = nl_addr_get_prefixlen(dst);
    if (rtnl_route_get_nnexthops(route) > 0)
      info.ifindex = rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(route, 0));
    out.push_back(info);
  }
  return out;
}

std::vector<AddressInfo> all_addresses(nl_sock* sock) {
  nl_cache* raw = nullptr;
  check(rtnl_addr_alloc_cache(sock, &raw), "list addresses");
  netlink::Cache cache(raw);
  std::vector<AddressInfo> out;
  for (nl_object* obj = nl_cache_get_first(raw); obj; obj = nl_cache_get_next(obj)) {
    auto* addr = reinterpret_cast<rtnl_addr*>(obj);
    nl_addr* local = rtnl_addr_get_local(addr);
    if (!local) continue;
    AddressInfo info;
    info.ifindex = rtnl_addr_get_ifindex(addr);
    auto prefix = static_cast<unsigned>(rtnl_addr_get_prefixlen(addr));
    if (rtnl_addr_get_family(addr) == AF_INET && nl_addr_get_len(local) == 4) {
      uint32_t be = 0;
      std::memcpy(&be, nl_addr_get_binary_addr(local), 4);
      info.v4 = Cidr4{Ipv4{ntohl(be)}, prefix};
    } else if (rtnl_addr_get_family(addr) == AF_INET6 && nl_addr_get_len(local) == 16) {
      Cidr6 c;
      std::memcpy(c.base.bytes.data(), nl_addr_get_binary_addr(local), 16);
      c.prefix = prefix;
      info.v6 = c;
    } else {
      continue;
    }
    out.push_back(info);
  }
  return out;
}

}  // namespace modrt::net
