#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "address.hpp"

namespace modrt::net {
namespace {

using ::testing::HasSubstr;

TEST(Address, ParsesAndFormatsIpv4) {
  auto a = Ipv4::parse("10.88.0.2");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->value, 0x0a580002u);
  EXPECT_EQ(a->str(), "10.88.0.2");
  EXPECT_FALSE(Ipv4::parse("10.88.0"));
  EXPECT_FALSE(Ipv4::parse("10.88.0.256"));
  EXPECT_FALSE(Ipv4::parse("fd00::1"));
}

TEST(Address, CidrRefusesHostBitsAndBadPrefixes) {
  auto c = Cidr4::parse("10.88.0.0/16");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->str(), "10.88.0.0/16");
  EXPECT_FALSE(Cidr4::parse("10.88.0.1/16"));  // host bits set
  EXPECT_FALSE(Cidr4::parse("10.88.0.0/33"));
  EXPECT_FALSE(Cidr4::parse("10.88.0.0"));
  EXPECT_FALSE(Cidr4::parse("10.88.0.0/x"));
}

TEST(Address, ContainsOverlapsAndHosts) {
  auto c = *Cidr4::parse("10.88.0.0/16");
  EXPECT_TRUE(c.contains(*Ipv4::parse("10.88.255.254")));
  EXPECT_FALSE(c.contains(*Ipv4::parse("10.89.0.1")));
  EXPECT_TRUE(c.overlaps(*Cidr4::parse("10.88.4.0/24")));
  EXPECT_TRUE(c.overlaps(*Cidr4::parse("10.0.0.0/8")));
  EXPECT_FALSE(c.overlaps(*Cidr4::parse("10.89.0.0/16")));
  EXPECT_EQ(c.host_count(), 65534u);
  EXPECT_EQ(c.host(1).str(), "10.88.0.1");
  EXPECT_EQ(c.broadcast().str(), "10.88.255.255");
  EXPECT_EQ(c.index_of(*Ipv4::parse("10.88.1.0")), 256u);
  EXPECT_EQ(Cidr4::parse("10.0.0.0/30")->host_count(), 2u);
}

TEST(Address, Ipv6TwinAddsTheHostIndex) {
  auto c = Cidr6::parse("fd00:88::/64");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host(1).str(), "fd00:88::1");
  EXPECT_EQ(c->host(0x1ff).str(), "fd00:88::1ff");
  EXPECT_EQ(Cidr6::parse("fd00:88::ff00/120")->host(0x100).str(), "fd00:88::1:0");
  EXPECT_FALSE(Cidr6::parse("fd00:88::1/64"));
  EXPECT_FALSE(Cidr6::parse("fd00:88::/129"));
}

TEST(Address, Ipv6ContainmentAndOverlap) {
  Cidr6 wide = *Cidr6::parse("fd00::/16");
  Cidr6 narrow = *Cidr6::parse("fd00:88::/64");
  EXPECT_TRUE(wide.contains(*Ipv6::parse("fd00:1::5")));
  EXPECT_FALSE(narrow.contains(*Ipv6::parse("fd00:89::5")));
  EXPECT_TRUE(wide.overlaps(narrow));
  EXPECT_TRUE(narrow.overlaps(wide));
  EXPECT_FALSE(narrow.overlaps(*Cidr6::parse("fd00:89::/64")));
  EXPECT_TRUE(Cidr6::parse("::/0")->overlaps(narrow));
}

TEST(Address, ReservedIpv4RangesAreNamed) {
  auto reserved = [](const char* text) { return reserved_overlap(*Cidr4::parse(text)); };
  EXPECT_EQ(reserved("127.0.0.0/8"), "127.0.0.0/8 (loopback)");
  EXPECT_EQ(reserved("127.1.0.0/16"), "127.0.0.0/8 (loopback)");
  EXPECT_EQ(reserved("169.254.0.0/16"), "169.254.0.0/16 (link-local)");
  EXPECT_EQ(reserved("169.0.0.0/8"), "169.254.0.0/16 (link-local)");  // wider, still overlaps
  EXPECT_EQ(reserved("0.0.0.0/8"), "0.0.0.0/8 (\"this network\")");
  EXPECT_EQ(reserved("224.1.0.0/16"), "224.0.0.0/4 (multicast)");
  EXPECT_THAT(reserved("255.255.255.0/24").value_or(""), HasSubstr("255.255.255.255"));
  EXPECT_EQ(reserved("10.88.0.0/16"), std::nullopt);
  EXPECT_EQ(reserved("172.16.0.0/12"), std::nullopt);
  EXPECT_EQ(reserved("192.168.1.0/24"), std::nullopt);
  EXPECT_EQ(reserved("223.255.255.0/24"), std::nullopt);  // the last unicast /24 below 224/4
}

TEST(Address, ReservedIpv6RangesAreNamed) {
  auto reserved = [](const char* text) { return reserved_overlap(*Cidr6::parse(text)); };
  EXPECT_EQ(reserved("::/64"), "::/128 (unspecified)");
  EXPECT_EQ(reserved("::1/128"), "::1/128 (loopback)");
  EXPECT_EQ(reserved("::ffff:0:0/104"), "::ffff:0:0/96 (IPv4-mapped)");
  EXPECT_EQ(reserved("fe80::/64"), "fe80::/10 (link-local)");
  EXPECT_EQ(reserved("febf:1::/64"), "fe80::/10 (link-local)");
  EXPECT_EQ(reserved("ff02::/64"), "ff00::/8 (multicast)");
  EXPECT_EQ(reserved("fd00:88::/64"), std::nullopt);
  EXPECT_EQ(reserved("2001:db8::/64"), std::nullopt);
  EXPECT_EQ(reserved("fec0::/64"), std::nullopt);  // just past fe80::/10
}

TEST(Address, Mac) {
  auto m = parse_mac("02:42:0a:58:00:02");
  ASSERT_TRUE(m);
  EXPECT_EQ(format_mac(*m), "02:42:0a:58:00:02");
  EXPECT_FALSE(parse_mac("01:00:5e:00:00:01"));  // multicast
  EXPECT_FALSE(parse_mac("02:42:0a:58:00"));
  EXPECT_FALSE(parse_mac("02-42-0a-58-00-02"));
}

}  // namespace
}  // namespace modrt::net
