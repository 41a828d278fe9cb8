#include <gtest/gtest.h>

#include "address.hpp"

namespace modrt::net {
namespace {

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
