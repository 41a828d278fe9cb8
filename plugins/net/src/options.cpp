#include "options.hpp"

#include <net/if.h>

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace modrt::net {

namespace {

std::optional<uint16_t> parse_port_number(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 ||
      value > 65535)
    return std::nullopt;
  return static_cast<uint16_t>(value);
}

Mode parse_mode(const ConfigNode& node) {
  std::string text = node.as_string();
  if (text == "none") return Mode::none;
  if (text == "host") return Mode::host;
  if (text == "bridge") return Mode::bridge;
  if (text == "join") return Mode::join;
  node.fail(fmt::format("unknown mode '{}'; expected one of: none, host, bridge, join", text));
}

// Does the config's ns stage ask for a network namespace? (mode host cannot honour that.)
bool ns_stage_unshares_net(const Config& config) {
  const StageConfig* ns = config.stage("ns");
  if (!ns) return false;
  auto list = ns->with.find("namespaces");
  if (!list || !list->is_sequence()) return false;
  for (const auto& item : list->items())
    if (item.is_scalar() && item.as_string() == "net") return true;
  return false;
}

}  // namespace

std::string PortMapping::str() const {
  return fmt::format("{}:{}/{}", host_port, container_port, proto);
}

std::optional<PortMapping> parse_port(std::string_view text) {
  PortMapping out;
  out.proto = "tcp";
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    out.proto = std::string(text.substr(slash + 1));
    if (out.proto != "tcp" && out.proto != "udp") return std::nullopt;
    text = text.substr(0, slash);
  }
  std::string_view host = text, container = text;
  if (auto colon = text.find(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    container = text.substr(colon + 1);
  }
  auto h = parse_port_number(host);
  auto c = parse_port_number(container);
  if (!h || !c) return std::nullopt;
  out.host_port = *h;
  out.container_port = *c;
  return out;
}

bool is_valid_ifname(std::string_view name) {
  if (name.empty() || name.size() >= IFNAMSIZ || name == "." || name == "..") return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    return c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\0';
  });
}

NetOptions parse_options(const ConfigNode& with, const Config& config) {
  with.expect_keys({"mode", "join", "bridge", "subnet", "gateway", "ip", "subnet6", "interface",
                    "mtu", "mac", "nat", "ports", "dns", "hosts", "keep_bridge"});
  NetOptions o;
  auto mode_node = with.find("mode");
  auto join_node = with.find("join");
  if (mode_node)
    o.mode = parse_mode(*mode_node);
  else if (join_node)
    o.mode = Mode::join;  // `join: PATH` alone says what it means

  if (o.mode == Mode::join) {
    if (!join_node) with.fail("mode join needs 'join: PATH' (/proc/PID/ns/net or a netns name)");
    o.join = join_node->as_string();
    if (o.join.empty()) join_node->fail("expected a netns path or name");
    // A bare name is a netns made by `ip netns add`, which lives in /run/netns.
    if (o.join.find('/') == std::string::npos)
      o.join = "/run/netns/" + o.join;
    else
      o.join = config.resolve(o.join).string();
  } else if (join_node) {
    join_node->fail("'join' only applies to mode join");
  }

  // Keys that describe a bridge attachment mean nothing in the other modes: refuse, do not ignore.
  if (o.mode != Mode::bridge) {
    for (const char* key : {"bridge", "subnet", "gateway", "ip", "subnet6", "interface", "mtu",
                            "mac", "nat", "ports", "keep_bridge"})
      if (auto n = with.find(key)) n->fail(fmt::format("'{}' only applies to mode bridge", key));
  }
  if (o.mode == Mode::host && ns_stage_unshares_net(config))
    with.fail("mode host shares the host's network, but stage 'ns' asks for a 'net' namespace");

  if (auto n = with.find("bridge")) {
    o.bridge = n->as_string();
    if (o.bridge.size() >= IFNAMSIZ)
      n->fail(fmt::format("bridge name '{}' is {} bytes; interface names are at most {}", o.bridge,
                          o.bridge.size(), IFNAMSIZ - 1));
    if (!is_valid_ifname(o.bridge))
      n->fail(fmt::format("'{}' is not a valid interface name", o.bridge));
  }
  if (auto n = with.find("subnet")) {
    auto cidr = Cidr4::parse(n->as_string());
    if (!cidr)
      n->fail(fmt::format("expected an IPv4 network like 10.88.0.0/16, got '{}'", n->as_string()));
    if (cidr->prefix < 8 || cidr->prefix > 30)
      n->fail(fmt::format("prefix /{} out of range: use /8 to /30", cidr->prefix));
    // Not when recovering: a dead run of an older modrt may have used one, and gc must undo it.
    if (auto reserved = reserved_overlap(*cidr); reserved && !config.recovering)
      n->fail(
          fmt::format("subnet {} overlaps the special-purpose range {}; a bridge needs an "
                      "ordinary unicast network such as 10.88.0.0/16",
                      cidr->str(), *reserved));
    o.subnet = *cidr;
  }
  o.gateway = o.subnet.host(1);
  if (auto n = with.find("gateway")) {
    auto gw = Ipv4::parse(n->as_string());
    if (!gw) n->fail(fmt::format("expected an IPv4 address, got '{}'", n->as_string()));
    if (!o.subnet.contains(*gw) || *gw == o.subnet.base || *gw == o.subnet.broadcast())
      n->fail(
          fmt::format("gateway {} is not a host address of subnet {}", gw->str(), o.subnet.str()));
    o.gateway = *gw;
  }
  if (auto n = with.find("ip")) {
    auto ip = Ipv4::parse(n->as_string());
    if (!ip) n->fail(fmt::format("expected an IPv4 address, got '{}'", n->as_string()));
    if (!o.subnet.contains(*ip) || *ip == o.subnet.base || *ip == o.subnet.broadcast())
      n->fail(fmt::format("address {} is outside subnet {} (or is its network/broadcast address)",
                          ip->str(), o.subnet.str()));
    if (*ip == o.gateway) n->fail(fmt::format("address {} is the gateway", ip->str()));
    o.ip = *ip;
  }
  if (auto n = with.find("subnet6")) {
    auto cidr = Cidr6::parse(n->as_string());
    if (!cidr)
      n->fail(fmt::format("expected an IPv6 network like fd00:88::/64, got '{}'", n->as_string()));
    // The twin address is subnet6 + the IPv4 host index, which must fit in the IPv6 host part.
    if (cidr->prefix > 128 - (32 - o.subnet.prefix))
      n->fail(fmt::format("/{} leaves fewer host bits than subnet {} needs", cidr->prefix,
                          o.subnet.str()));
    if (auto reserved = reserved_overlap(*cidr); reserved && !config.recovering)
      n->fail(
          fmt::format("subnet6 {} overlaps the special-purpose range {}; use a unique local "
                      "network such as fd00:88::/64",
                      cidr->str(), *reserved));
    o.subnet6 = *cidr;
  }
  if (auto n = with.find("interface")) {
    o.interface = n->as_string();
    if (!is_valid_ifname(o.interface))
      n->fail(fmt::format("'{}' is not a valid interface name (1 to {} bytes)", o.interface,
                          IFNAMSIZ - 1));
  }
  if (auto n = with.find("mtu")) o.mtu = static_cast<unsigned>(n->as_int(68, 65535));
  if (auto n = with.find("mac")) {
    o.mac = parse_mac(n->as_string());
    if (!o.mac)
      n->fail(
          fmt::format("expected a unicast MAC like 02:42:0a:58:00:02, got '{}'", n->as_string()));
  }
  if (auto n = with.find("nat")) o.nat = n->as_bool();
  if (auto n = with.find("ports")) {
    for (const auto& item : n->items()) {
      auto port = parse_port(item.as_string());
      if (!port)
        item.fail(fmt::format("expected HOST:CONTAINER[/tcp|/udp] like \"8080:80/tcp\", got '{}'",
                              item.as_string()));
      for (const auto& other : o.ports)
        if (other.proto == port->proto && other.host_port == port->host_port)
          item.fail(
              fmt::format("host port {}/{} is published twice", port->host_port, port->proto));
      o.ports.push_back(*port);
    }
  }
  if (auto n = with.find("dns")) {
    n->expect_keys({"nameservers", "search", "options"});
    if (auto s = n->find("nameservers")) {
      for (const auto& item : s->items()) {
        std::string text = item.as_string();
        if (!Ipv4::parse(text) && !Ipv6::parse(text))
          item.fail(fmt::format("expected an IP address, got '{}'", text));
        o.dns.nameservers.push_back(text);
      }
    }
    if (auto s = n->find("search")) o.dns.search = s->as_string_list();
    if (auto s = n->find("options")) o.dns.options = s->as_string_list();
    for (const auto& list : {o.dns.search, o.dns.options})
      for (const auto& word : list)
        if (word.empty() || word.find_first_of(" \t\n") != std::string::npos)
          n->fail(fmt::format("'{}' must be one word without whitespace", word));
  }
  if (auto n = with.find("hosts")) o.write_hosts = n->as_bool();
  if (auto n = with.find("keep_bridge")) o.keep_bridge = n->as_bool();
  return o;
}

}  // namespace modrt::net
