#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "modrt/error.hpp"
#include "options.hpp"

namespace modrt::net {
namespace {

using ::testing::HasSubstr;

Config config_with(const std::string& net_with, const std::string& ns_with = "") {
  std::string yaml = "name: t\nprocess: {args: [/bin/true]}\nstages:\n";
  if (!ns_with.empty()) yaml += "  - plugin: ns\n    with: " + ns_with + "\n";
  yaml += "  - plugin: net\n    with: " + net_with + "\n";
  return parse_config(yaml, "t.yaml", "/etc");
}

NetOptions parse(const std::string& net_with, const std::string& ns_with = "") {
  Config config = config_with(net_with, ns_with);
  return parse_options(config.stage("net")->with, config);
}

std::string error_of(const std::string& net_with, const std::string& ns_with = "") {
  try {
    parse(net_with, ns_with);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Options, Defaults) {
  NetOptions o = parse("{}");
  EXPECT_EQ(o.mode, Mode::bridge);
  EXPECT_EQ(o.bridge, "modrt0");
  EXPECT_EQ(o.subnet.str(), "10.88.0.0/16");
  EXPECT_EQ(o.gateway.str(), "10.88.0.1");
  EXPECT_FALSE(o.ip);
  EXPECT_EQ(o.interface, "eth0");
  EXPECT_TRUE(o.nat);
  EXPECT_TRUE(o.ports.empty());
  EXPECT_FALSE(o.keep_bridge);
  EXPECT_TRUE(o.write_hosts);
}

TEST(Options, FullBridge) {
  NetOptions o = parse(
      "{bridge: br-t, subnet: 10.9.0.0/24, gateway: 10.9.0.254, ip: 10.9.0.7, mtu: 1400, "
      "mac: '02:00:00:00:00:07', nat: false, ports: ['8080:80/tcp', '53/udp'], subnet6: "
      "'fd00:9::/64', "
      "dns: {nameservers: [1.1.1.1, '2606:4700::1111'], search: [example.org]}}");
  EXPECT_EQ(o.gateway.str(), "10.9.0.254");
  EXPECT_EQ(o.ip->str(), "10.9.0.7");
  EXPECT_EQ(o.mtu, 1400u);
  EXPECT_FALSE(o.nat);
  ASSERT_EQ(o.ports.size(), 2u);
  EXPECT_EQ(o.ports[1].str(), "53:53/udp");
  EXPECT_EQ(o.dns.nameservers.size(), 2u);
  EXPECT_TRUE(o.subnet6);
}

TEST(Options, PortSyntax) {
  EXPECT_EQ(parse_port("8080:80/tcp")->str(), "8080:80/tcp");
  EXPECT_EQ(parse_port("8080:80")->proto, "tcp");
  EXPECT_FALSE(parse_port("8080:80/icmp"));
  EXPECT_FALSE(parse_port("0:80"));
  EXPECT_FALSE(parse_port("70000:80"));
  EXPECT_FALSE(parse_port("a:80"));
  EXPECT_FALSE(parse_port(""));
}

TEST(Options, BadInputNamesTheKey) {
  EXPECT_THAT(
      error_of("{bridge: a-very-long-bridge-name}"),
      HasSubstr("stages[0].with.bridge: bridge name 'a-very-long-bridge-name' is 23 bytes"));
  EXPECT_THAT(error_of("{ip: 10.99.0.2}"), HasSubstr("outside subnet 10.88.0.0/16"));
  EXPECT_THAT(error_of("{ip: 10.88.0.1}"), HasSubstr("is the gateway"));
  EXPECT_THAT(error_of("{subnet: 10.88.0.1/16}"), HasSubstr("expected an IPv4 network"));
  EXPECT_THAT(error_of("{subnet: 10.0.0.0/31}"), HasSubstr("out of range"));
  EXPECT_THAT(error_of("{ports: ['8080:80', '8080:81']}"), HasSubstr("published twice"));
  EXPECT_THAT(error_of("{ports: ['x']}"), HasSubstr("stages[0].with.ports[0]"));
  EXPECT_THAT(error_of("{mode: wifi}"), HasSubstr("unknown mode 'wifi'"));
  EXPECT_THAT(error_of("{brige: x}"), HasSubstr("did you mean 'bridge'"));
  EXPECT_THAT(error_of("{mode: none, ports: ['80:80']}"), HasSubstr("only applies to mode bridge"));
  EXPECT_THAT(error_of("{mode: host, keep_bridge: true}"), HasSubstr("'keep_bridge' only applies"));
  EXPECT_THAT(error_of("{join: blue, mode: none}"), HasSubstr("'join' only applies to mode join"));
  EXPECT_THAT(error_of("{mode: join}"), HasSubstr("needs 'join: PATH'"));
  EXPECT_THAT(error_of("{dns: {nameservers: [example.org]}}"), HasSubstr("expected an IP address"));
  EXPECT_THAT(error_of("{mac: '01:00:5e:00:00:01'}"), HasSubstr("unicast MAC"));
  EXPECT_THAT(error_of("{interface: 'a/b'}"), HasSubstr("not a valid interface name"));
}

TEST(Options, ReservedSubnetsAreRefusedWithTheirReason) {
  EXPECT_THAT(error_of("{subnet: 127.0.0.0/8}"),
              HasSubstr("stages[0].with.subnet: subnet 127.0.0.0/8 overlaps the special-purpose "
                        "range 127.0.0.0/8 (loopback)"));
  EXPECT_THAT(error_of("{subnet: 169.254.0.0/16}"), HasSubstr("169.254.0.0/16 (link-local)"));
  EXPECT_THAT(error_of("{subnet: 0.0.0.0/8}"), HasSubstr("0.0.0.0/8"));
  EXPECT_THAT(error_of("{subnet: 224.0.0.0/8}"), HasSubstr("224.0.0.0/4 (multicast)"));
  EXPECT_THAT(error_of("{subnet: 240.0.0.0/8}"), HasSubstr("240.0.0.0/4 (reserved"));
  EXPECT_THAT(error_of("{subnet: 255.255.255.0/24}"), HasSubstr("broadcast"));
  EXPECT_THAT(error_of("{subnet: 10.9.0.0/24, subnet6: '::/64'}"),
              HasSubstr("stages[0].with.subnet6: subnet6 ::/64 overlaps the special-purpose range "
                        "::/128 (unspecified)"));
  EXPECT_THAT(error_of("{subnet: 10.9.0.0/24, subnet6: '::1/128'}"), HasSubstr("fewer host bits"));
  EXPECT_THAT(error_of("{subnet: 10.9.0.0/24, subnet6: 'fe80::/64'}"), HasSubstr("link-local"));
  EXPECT_THAT(error_of("{subnet: 10.9.0.0/24, subnet6: 'ff02::/64'}"), HasSubstr("multicast"));
  EXPECT_EQ(parse("{subnet: 172.30.0.0/16, subnet6: 'fd00:30::/64'}").subnet.str(),
            "172.30.0.0/16");
}

TEST(Options, ReservedSubnetsAreAcceptedWhenRecoveringADeadRun) {
  // gc of a run an older modrt started on 127/8 must still be able to build the stage and undo it.
  Config config = config_with("{subnet: 127.0.0.0/8}");
  config.recovering = true;
  EXPECT_EQ(parse_options(config.stage("net")->with, config).subnet.str(), "127.0.0.0/8");
}

TEST(Options, HostModeConflictsWithANetNamespace) {
  EXPECT_THAT(error_of("{mode: host}", "{namespaces: [pid, net]}"), HasSubstr("mode host"));
  EXPECT_EQ(parse("{mode: host}", "{namespaces: [pid]}").mode, Mode::host);
}

TEST(Options, JoinResolvesNames) {
  EXPECT_EQ(parse("{join: blue}").join, "/run/netns/blue");
  EXPECT_EQ(parse("{mode: join, join: /proc/1/ns/net}").join, "/proc/1/ns/net");
  EXPECT_EQ(parse("{join: ./x/net}").join, "/etc/x/net");
}

}  // namespace
}  // namespace modrt::net
