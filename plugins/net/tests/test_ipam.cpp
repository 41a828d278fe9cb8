#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ipam.hpp"
#include "modrt/error.hpp"

namespace modrt::net {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class Ipam : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/modrt-ipam-XXXXXX";
    ASSERT_TRUE(::mkdtemp(tmpl));
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  Lease owner(const std::string& name) {
    return Lease{.address = {},
                 .container = name,
                 .pid = ::getpid(),
                 .start_time = process_start_time(::getpid()),
                 .veth = "mr" + name};
  }
  fs::path dir_;
  Cidr4 subnet_ = *Cidr4::parse("10.88.0.0/29");  // hosts .1 - .6, gateway .1
  Ipv4 gateway_ = *Ipv4::parse("10.88.0.1");
};

TEST_F(Ipam, AllocatesRoundRobinSkippingTheGateway) {
  NetState state(dir_, [](const Lease&) { return false; });
  EXPECT_EQ(state.allocate("br", subnet_, gateway_, owner("a")).str(), "10.88.0.2");
  EXPECT_EQ(state.allocate("br", subnet_, gateway_, owner("b")).str(), "10.88.0.3");
  EXPECT_TRUE(state.release("br", *Ipv4::parse("10.88.0.2"), "a"));
  // The released address is not handed out again right away.
  EXPECT_EQ(state.allocate("br", subnet_, gateway_, owner("c")).str(), "10.88.0.4");
  auto lease = state.lease("br", *Ipv4::parse("10.88.0.4"));
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->container, "c");
  EXPECT_EQ(lease->veth, "mrc");
}

TEST_F(Ipam, FullSubnetIsAnErrorUnlessStaleLeasesCanGo) {
  bool stale = false;
  NetState state(dir_, [&](const Lease&) { return stale; });
  for (int i = 0; i < 5; ++i)
    state.allocate("br", subnet_, gateway_, owner("c" + std::to_string(i)));
  try {
    state.allocate("br", subnet_, gateway_, owner("x"));
    FAIL() << "allocated from a full subnet";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("is full"));
  }
  stale = true;
  EXPECT_TRUE(subnet_.contains(state.allocate("br", subnet_, gateway_, owner("x"))));
  EXPECT_EQ(state.leases("br").size(), 1u);
}

TEST_F(Ipam, StaticClaimRefusesALiveHolderAndTakesAStaleOne) {
  bool stale = false;
  NetState state(dir_, [&](const Lease&) { return stale; });
  Lease a = owner("a");
  a.address = *Ipv4::parse("10.88.0.5");
  state.claim("br", a);
  Lease b = owner("b");
  b.address = a.address;
  try {
    state.claim("br", b);
    FAIL() << "claimed a taken address";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("10.88.0.5 is taken by container 'a'"));
  }
  stale = true;
  state.claim("br", b);
  EXPECT_EQ(state.lease("br", a.address)->container, "b");
  EXPECT_FALSE(state.release("br", a.address, "a"));  // not a's any more
}

TEST_F(Ipam, ReleaseOfTheLastLeaseLeavesThePoolEmpty) {
  NetState state(dir_, [](const Lease&) { return false; });
  Ipv4 a = state.allocate("br", subnet_, gateway_, owner("a"));
  EXPECT_EQ(state.total_leases(), 1u);
  state.release("br", a, "a");
  EXPECT_EQ(state.total_leases(), 0u);
  EXPECT_FALSE(fs::exists(dir_ / "pools" / "br"));
}

TEST_F(Ipam, PortsAreClaimedOnce) {
  NetState state(dir_, [](const Lease&) { return false; });
  Ipv4 a = state.allocate("br", subnet_, gateway_, owner("a"));
  state.claim_port("tcp", 8080, "a", a);
  try {
    state.claim_port("tcp", 8080, "b", *Ipv4::parse("10.88.0.3"));
    FAIL() << "claimed a published port twice";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("8080/tcp is already published by container 'a'"));
  }
  state.claim_port("udp", 8080, "b", *Ipv4::parse("10.88.0.3"));
  EXPECT_FALSE(state.release_port("tcp", 8080, "b"));
  EXPECT_TRUE(state.release_port("tcp", 8080, "a"));
  // A claim whose container no longer holds its address is left over from a crash.
  state.release("br", a, "a");
  state.claim_port("tcp", 9090, "gone", a);
  state.claim_port("tcp", 9090, "b", *Ipv4::parse("10.88.0.3"));
}

TEST_F(Ipam, ConcurrentAllocationsNeverShareAnAddress) {
  Cidr4 big = *Cidr4::parse("10.88.0.0/24");
  std::vector<std::thread> threads;
  std::vector<Ipv4> got(40);
  for (int i = 0; i < 40; ++i) {
    threads.emplace_back([&, i] {
      // Each NetState opens the lock file itself, as separate modrt processes do.
      NetState state(dir_, [](const Lease&) { return false; });
      got[i] = state.allocate("br", big, gateway_, owner("c" + std::to_string(i)));
    });
  }
  for (auto& t : threads) t.join();
  std::set<Ipv4> unique(got.begin(), got.end());
  EXPECT_EQ(unique.size(), 40u);
}

TEST(LeaseStaleness, LiveOwnerIsNotStaleDeadOwnerWithoutVethIs) {
  Lease live{.address = {},
             .container = "x",
             .pid = ::getpid(),
             .start_time = process_start_time(::getpid()),
             .veth = "mr-none-here"};
  EXPECT_FALSE(lease_is_stale(live));
  Lease dead = live;
  dead.start_time += 1;  // same pid, another process: pid reuse
  EXPECT_TRUE(lease_is_stale(dead));
  dead.veth = "lo";  // its veth still exists: the container's netns is alive
  EXPECT_FALSE(lease_is_stale(dead));
}

TEST(LeaseFormat, RoundTrips) {
  Lease l{.address = *Ipv4::parse("10.0.0.2"),
          .container = "web",
          .pid = 42,
          .start_time = 7,
          .veth = "mrweb-0001"};
  auto back = parse_lease(l.address, format_lease(l));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->container, "web");
  EXPECT_EQ(back->pid, 42);
  EXPECT_EQ(back->start_time, 7u);
  EXPECT_EQ(back->veth, "mrweb-0001");
  EXPECT_FALSE(parse_lease(l.address, "garbage"));
}

}  // namespace
}  // namespace modrt::net
