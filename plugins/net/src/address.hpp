// IPv4/IPv6 addresses and prefixes as plain values: parsing, containment, the n-th host of a
// subnet. Pure logic, no syscalls, so IPAM and option checks are unit-tested without a network.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace modrt::net {

struct Ipv4 {
  uint32_t value = 0;  // host byte order
  static std::optional<Ipv4> parse(std::string_view text);
  std::string str() const;
  auto operator<=>(const Ipv4&) const = default;
};

struct Cidr4 {
  Ipv4 base;  // network address (host bits zero)
  unsigned prefix = 0;
  // "10.88.0.0/16"; host bits set ("10.88.0.1/16") are refused so a typo is not silently widened.
  static std::optional<Cidr4> parse(std::string_view text);
  std::string str() const;
  uint32_t mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
  bool contains(Ipv4 a) const { return (a.value & mask()) == base.value; }
  bool overlaps(const Cidr4& other) const;
  // Addresses a container may hold: everything but the network and broadcast addresses.
  uint32_t host_count() const;
  Ipv4 host(uint32_t n) const { return Ipv4{base.value + n}; }  // n in [1, host_count()]
  uint32_t index_of(Ipv4 a) const { return a.value - base.value; }
  Ipv4 broadcast() const { return Ipv4{base.value | ~mask()}; }
  auto operator<=>(const Cidr4&) const = default;
};

struct Ipv6 {
  std::array<uint8_t, 16> bytes{};
  static std::optional<Ipv6> parse(std::string_view text);
  std::string str() const;
  auto operator<=>(const Ipv6&) const = default;
};

struct Cidr6 {
  Ipv6 base;
  unsigned prefix = 0;
  static std::optional<Cidr6> parse(std::string_view text);
  std::string str() const;
  // base + n: the IPv6 twin of the IPv4 host n, so one IPAM lease covers both families.
  Ipv6 host(uint32_t n) const;
  bool contains(const Ipv6& a) const;
  bool overlaps(const Cidr6& other) const;
  auto operator<=>(const Cidr6&) const = default;
};

// The special-purpose range a container subnet must not overlap, as "127.0.0.0/8 (loopback)", or
// nullopt. A bridge on such a range breaks the host: 127/8 on a bridge plus route_localnet opens
// the host's loopback services to containers, 169.254/16 shadows link-local (cloud metadata),
// 0/8, multicast 224/4 and the reserved 240/4 (with the broadcast address) are not unicast
// networks at all.
std::optional<std::string> reserved_overlap(const Cidr4& subnet);
// The same for IPv6: ::/128 and ::1/128, IPv4-mapped ::ffff:0:0/96, link-local fe80::/10 and
// multicast ff00::/8.
std::optional<std::string> reserved_overlap(const Cidr6& subnet);

std::optional<std::array<uint8_t, 6>> parse_mac(std::string_view text);
std::string format_mac(const std::array<uint8_t, 6>& mac);

}  // namespace modrt::net
