// The few rtnetlink operations the stage is made of, each one request through libnl with an error
// that names the interface and the namespace it happened in.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "address.hpp"
#include "modrt/netlink.hpp"

namespace modrt::net {

struct LinkInfo {
  int ifindex = 0;
  std::string kind;  // "bridge", "veth", "" for plain devices
};

// nullopt when no interface of that name exists in the socket's netns.
std::optional<LinkInfo> find_link(nl_sock* sock, const std::string& name);
// Deletes an interface; false when it was already gone.
bool delete_link(nl_sock* sock, const std::string& name);
// Sets IFF_UP on an interface by index.
void set_link_up(nl_sock* sock, int ifindex, const std::string& name);

// Adds address/prefix to an interface (IPv4 or IPv6 text, e.g. "10.88.0.1/16").
void add_address(nl_sock* sock, int ifindex, const std::string& cidr, const std::string& ifname);
// Deletes it; false when it was not there.
bool delete_address(nl_sock* sock, int ifindex, const std::string& cidr);
// Addresses ("10.88.0.1/16") on an interface, IPv4 only.
std::vector<std::string> ipv4_addresses(nl_sock* sock, int ifindex);

// Adds a default route through gateway (IPv4 or IPv6 text) on an interface.
void add_default_route(nl_sock* sock, int ifindex, const std::string& gateway,
                       const std::string& ifname);

struct RouteInfo {
  Cidr4 dst;
  int ifindex = 0;
};
// The IPv4 routes of the main table with a prefix (the default route is left out).
std::vector<RouteInfo> ipv4_routes(nl_sock* sock);

struct Route6Info {
  Cidr6 dst;
  int ifindex = 0;
};
// The same for IPv6.
std::vector<Route6Info> ipv6_routes(nl_sock* sock);

// Every address of every interface in the socket's netns, with its prefix.
struct AddressInfo {
  std::optional<Cidr4> v4;  // address/prefix with the host bits kept (10.0.0.5/24), or
  std::optional<Cidr6> v6;  // the IPv6 one
  int ifindex = 0;
};
std::vector<AddressInfo> all_addresses(nl_sock* sock);

}  // namespace modrt::net
