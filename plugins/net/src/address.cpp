#include "address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstdio>
#include <utility>

namespace modrt::net {

namespace {

std::optional<unsigned> parse_prefix(std::string_view text, unsigned max) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value > max)
    return std::nullopt;
  return value;
}

}  // namespace

std::optional<Ipv4> Ipv4::parse(std::string_view text) {
  // inet_pton rejects the legacy forms ("10.1", octal) that inet_aton would widen silently.
  std::string s(text);
  in_addr addr{};
  if (::inet_pton(AF_INET, s.c_str(), &addr) != 1) return std::nullopt;
  return Ipv4{ntohl(addr.s_addr)};
}

std::string Ipv4::str() const {
  char buf[INET_ADDRSTRLEN];
  in_addr addr{htonl(value)};
  ::inet_ntop(AF_INET, &addr, buf, sizeof buf);
  return buf;
}

std::optional<Cidr4> Cidr4::parse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto addr = Ipv4::parse(text.substr(0, slash));
  auto prefix = parse_prefix(text.substr(slash + 1), 32);
  if (!addr || !prefix) return std::nullopt;
  Cidr4 cidr{*addr, *prefix};
  if ((addr->value & cidr.mask()) != addr->value) return std::nullopt;
  return cidr;
}

std::string Cidr4::str() const {
  return base.str() + "/" + std::to_string(prefix);
}

bool Cidr4::overlaps(const Cidr4& other) const {
  uint32_t m = prefix < other.prefix ? mask() : other.mask();
  return (base.value & m) == (other.base.value & m);
}

uint32_t Cidr4::host_count() const {
  if (prefix >= 31) return 0;
  return (~mask()) - 1;
}

std::optional<Ipv6> Ipv6::parse(std::string_view text) {
  std::string s(text);
  Ipv6 out;
  if (::inet_pton(AF_INET6, s.c_str(), out.bytes.data()) != 1) return std::nullopt;
  return out;
}

std::string Ipv6::str() const {
  char buf[INET6_ADDRSTRLEN];
  ::inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

std::optional<Cidr6> Cidr6::parse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto addr = Ipv6::parse(text.substr(0, slash));
  auto prefix = parse_prefix(text.substr(slash + 1), 128);
  if (!addr || !prefix) return std::nullopt;
  for (unsigned bit = *prefix; bit < 128; ++bit)
    if (addr->bytes[bit / 8] & (0x80 >> (bit % 8))) return std::nullopt;
  return Cidr6{*addr, *prefix};
}

std::string Cidr6::str() const {
  return base.str() + "/" + std::to_string(prefix);
}

Ipv6 Cidr6::host(uint32_t n) const {
  Ipv6 out = base;
  uint64_t carry = n;
  for (int i = 15; i >= 0 && carry; --i) {
    uint64_t sum = out.bytes[i] + (carry & 0xff);
    out.bytes[i] = static_cast<uint8_t>(sum);
    carry = (carry >> 8) + (sum >> 8);
  }
  return out;
}

bool Cidr6::contains(const Ipv6& a) const {
  for (unsigned bit = 0; bit < prefix; ++bit) {
    uint8_t m = static_cast<uint8_t>(0x80 >> (bit % 8));
    if ((a.bytes[bit / 8] & m) != (base.bytes[bit / 8] & m)) return false;
  }
  return true;
}

bool Cidr6::overlaps(const Cidr6& other) const {
  // Two prefixes overlap exactly when the shorter one contains the other's base.
  return prefix <= other.prefix ? contains(other.base) : other.contains(base);
}

std::optional<std::string> reserved_overlap(const Cidr4& subnet) {
  static const std::pair<const char*, const char*> kReserved[] = {
      {"0.0.0.0/8", "\"this network\""},
      {"127.0.0.0/8", "loopback"},
      {"169.254.0.0/16", "link-local"},
      {"224.0.0.0/4", "multicast"},
      {"240.0.0.0/4", "reserved, with the broadcast address 255.255.255.255"},
  };
  for (const auto& [text, what] : kReserved) {
    Cidr4 range = *Cidr4::parse(text);
    if (range.overlaps(subnet)) return std::string(text) + " (" + what + ")";
  }
  return std::nullopt;
}

std::optional<std::string> reserved_overlap(const Cidr6& subnet) {
  static const std::pair<const char*, const char*> kReserved[] = {
      {"::/128", "unspecified"},   {"::1/128", "loopback"},   {"::ffff:0:0/96", "IPv4-mapped"},
      {"fe80::/10", "link-local"}, {"ff00::/8", "multicast"},
  };
  for (const auto& [text, what] : kReserved) {
    Cidr6 range = *Cidr6::parse(text);
    if (range.overlaps(subnet)) return std::string(text) + " (" + what + ")";
  }
  return std::nullopt;
}

std::optional<std::array<uint8_t, 6>> parse_mac(std::string_view text) {
  std::array<uint8_t, 6> mac{};
  if (text.size() != 17) return std::nullopt;
  for (size_t i = 0; i < 6; ++i) {
    auto part = text.substr(i * 3, 2);
    if (i < 5 && text[i * 3 + 2] != ':') return std::nullopt;
    unsigned v = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + 2, v, 16);
    if (ec != std::errc() || end != part.data() + 2) return std::nullopt;
    mac[i] = static_cast<uint8_t>(v);
  }
  // A multicast MAC on an interface breaks ARP on the whole bridge.
  if (mac[0] & 1) return std::nullopt;
  return mac;
}

std::string format_mac(const std::array<uint8_t, 6>& mac) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                mac[4], mac[5]);
  return buf;
}

}  // namespace modrt::net
