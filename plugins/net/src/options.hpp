// The net stage's `with:` block, read and checked once at create() time (so `modrt validate`
// reports every mistake with its file:line:col and key path before anything touches the host).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "address.hpp"
#include "modrt/config.hpp"

namespace modrt::net {

enum class Mode { none, host, bridge, join };

struct PortMapping {
  std::string proto;  // "tcp" or "udp"
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  std::string str() const;  // "8080:80/tcp"
};

struct DnsOptions {
  std::vector<std::string> nameservers;
  std::vector<std::string> search;
  std::vector<std::string> options;
  bool configured() const { return !nameservers.empty() || !search.empty() || !options.empty(); }
};

struct NetOptions {
  Mode mode = Mode::bridge;
  std::string join;  // mode join: a netns path (/proc/PID/ns/net, /run/netns/NAME)
  std::string bridge = "modrt0";
  Cidr4 subnet{Ipv4{0x0a580000}, 16};  // 10.88.0.0/16
  Ipv4 gateway{0x0a580001};            // first host of the subnet unless set
  std::optional<Ipv4> ip;              // static address; allocated from the subnet when unset
  std::optional<Cidr6> subnet6;        // IPv6 twin subnet: the container gets subnet6 + host index
  std::string interface = "eth0";
  unsigned mtu = 1500;
  std::optional<std::array<uint8_t, 6>> mac;
  bool nat = true;
  std::vector<PortMapping> ports;
  DnsOptions dns;
  bool write_hosts = true;
  // Leave the bridge, its masquerade and the nft table in place after the last container (like
  // docker0): back-to-back runs then skip creating them (~2 ms) and deleting them (~20-40 ms).
  bool keep_bridge = false;
};

// Throws ConfigError naming the offending key.
NetOptions parse_options(const ConfigNode& with, const Config& config);

// "[host_port:]container_port[/tcp|/udp]" -> mapping; nullopt on any malformed part.
std::optional<PortMapping> parse_port(std::string_view text);

// Interface names the kernel accepts: 1..15 bytes, no '/', ':' or whitespace, not "." or "..".
bool is_valid_ifname(std::string_view name);

}  // namespace modrt::net
