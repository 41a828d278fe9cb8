#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <thread>

#include <fmt/format.h>
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
                 .veth = "mr" + name,
                 .owner = {}};
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
             .veth = "mr-none-here",
             .owner = {}};
  EXPECT_FALSE(lease_is_stale(live));
  Lease dead = live;
  dead.start_time += 1;  // same pid, another process: pid reuse
  EXPECT_TRUE(lease_is_stale(dead));
  dead.veth = "lo";  // its veth still exists: the container's netns is alive
  EXPECT_FALSE(lease_is_stale(dead));
}

TEST(LeaseStaleness, ALeaseWithoutAStartTimeIsNoProofOfLife) {
  // A pid that is gone reads start time 0 too: a lease saying 0 must not match it and live forever.
  Lease torn{.address = {},
             .container = "x",
             .pid = 0x3ffffff0,
             .start_time = 0,
             .veth = "mr-none-here",
             .owner = {}};
  EXPECT_TRUE(lease_is_stale(torn));
}

TEST_F(Ipam, ATornLeaseOfAnOlderModrtDoesNotBlockItsAddressForGood) {
  // Before leases were linked into place whole, a SIGKILL between create and write left an empty
  // file: invisible to leases(), never released, skipped by every allocation.
  NetState state(dir_, [](const Lease&) { return false; });
  Cidr4 tiny = *Cidr4::parse("10.88.0.0/30");  // one host besides the gateway: .2
  Ipv4 only = *Ipv4::parse("10.88.0.2");
  fs::create_directories(dir_ / "pools" / "br");
  std::ofstream(dir_ / "pools" / "br" / only.str());
  EXPECT_EQ(state.allocate("br", tiny, gateway_, owner("c1")), only);
  // And a lease written today is never empty, nor anything else left beside it.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir_ / "pools" / "br")) {
    names.push_back(e.path().filename().string());
    if (e.path().filename() != "next") {
      EXPECT_GT(fs::file_size(e.path()), 0u);
    }
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{only.str(), "next"}));
}

TEST(LeaseFormat, RoundTrips) {
  Lease l{.address = *Ipv4::parse("10.0.0.2"),
          .container = "web",
          .pid = 42,
          .start_time = 7,
          .veth = "mrweb-0001",
          .owner = "00c0ffee00c0ffee"};
  auto back = parse_lease(l.address, format_lease(l));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->container, "web");
  EXPECT_EQ(back->pid, 42);
  EXPECT_EQ(back->start_time, 7u);
  EXPECT_EQ(back->veth, "mrweb-0001");
  EXPECT_EQ(back->owner, "00c0ffee00c0ffee");
  EXPECT_FALSE(parse_lease(l.address, "garbage"));
  // A lease written by a modrt without owner tokens still reads, with no owner.
  auto old = parse_lease(l.address, "container=web\npid=42\nstart=7\nveth=mrweb-0001\n");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->owner, "");
}

// Two state roots share one netns's state; both may run a container called "web". Only the run
// holding the owner token releases a lease or a port claim.
TEST_F(Ipam, OwnerTokenNotTheContainerNameDecidesWhatARunReleases) {
  bool stale = false;
  NetState state(dir_, [&](const Lease&) { return stale; });
  Lease first = owner("web");
  first.owner = "token-of-root-a";
  first.address = *Ipv4::parse("10.88.0.5");
  state.claim("br", first);
  state.claim_port("tcp", 8080, "web", first.address, "token-of-root-a");
  // Root A's run is gone (its gc has not run yet): root B's "web" takes the address and the port.
  stale = true;
  Lease second = first;
  second.owner = "token-of-root-b";
  state.claim("br", second);
  state.claim_port("tcp", 8080, "web", second.address, "token-of-root-b");
  stale = false;
  // Root A's gc must not take them from B, although the container name matches.
  EXPECT_FALSE(state.release("br", first.address, "web", "token-of-root-a"));
  EXPECT_FALSE(state.release_port("tcp", 8080, "web", "token-of-root-a"));
  EXPECT_EQ(state.lease("br", first.address)->owner, "token-of-root-b");
  // B's live claim still refuses a third run.
  EXPECT_THROW(state.claim_port("tcp", 8080, "web", *Ipv4::parse("10.88.0.6"), "token-c"), Error);
  EXPECT_TRUE(state.release_port("tcp", 8080, "web", "token-of-root-b"));
  EXPECT_TRUE(state.release("br", first.address, "web", "token-of-root-b"));
  // Records without a token (an older modrt) are released by container name.
  Lease legacy = owner("db");
  legacy.address = *Ipv4::parse("10.88.0.4");
  state.claim("br", legacy);
  EXPECT_FALSE(state.release("br", legacy.address, "web", "token-x"));
  EXPECT_TRUE(state.release("br", legacy.address, "db", "token-x"));
}

TEST_F(Ipam, AllocateCallsBeforeLeaseBeforeTheLeaseExists) {
  NetState state(dir_, [](const Lease&) { return false; });
  std::vector<std::string> seen;
  Ipv4 got = state.allocate("br", subnet_, gateway_, owner("a"), [&](Ipv4 a) {
    seen.push_back(a.str());
    EXPECT_FALSE(state.lease("br", a)) << "leased before it was recorded";
  });
  EXPECT_EQ(seen, std::vector<std::string>{got.str()});
  EXPECT_TRUE(state.lease("br", got));
  // A record that fails leases nothing.
  EXPECT_THROW(state.allocate("br", subnet_, gateway_, owner("b"),
                              [](Ipv4) { throw Error("journal full"); }),
               Error);
  EXPECT_EQ(state.total_leases(), 1u);
}

TEST_F(Ipam, LastUserRemovesTheDirectoryOnlyWhenNothingIsLeft) {
  fs::path netns_dir = dir_ / "4242";
  {
    NetState state(netns_dir, [](const Lease&) { return false; });
    Ipv4 a = state.allocate("br", subnet_, gateway_, owner("a"));
    state.claim_port("tcp", 80, "a", a, "t");
    state.set_marker("bridge-br", "created");
    EXPECT_FALSE(state.remove_if_unused());  // a lease, a port and a marker
    state.release("br", a, "a");
    EXPECT_FALSE(state.remove_if_unused());  // a port and a marker
    state.release_port("tcp", 80, "a", "t");
    EXPECT_FALSE(state.remove_if_unused());  // a marker
    state.clear_marker("bridge-br");
    EXPECT_TRUE(state.unused());
    EXPECT_TRUE(state.remove_if_unused());
  }
  EXPECT_FALSE(fs::exists(netns_dir));
}

// A run waiting for the lock while the last user removes the directory must not end up holding a
// lock on the removed file (then two runs would both "hold" the lock): it starts over.
ino_t inode_of(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST_F(Ipam, AWaiterOfARemovedDirectoryLocksTheNewOne) {
  fs::path netns_dir = dir_ / "4243";
  auto last = std::make_unique<NetState>(netns_dir, [](const Lease&) { return false; });
  std::atomic<bool> locked{false};
  std::thread waiter([&] {
    NetState state(netns_dir, [](const Lease&) { return false; });
    locked = true;
    // The directory this waiter holds the lock of is the one at the path.
    state.allocate("br", subnet_, gateway_, owner("w"));
    EXPECT_TRUE(fs::exists(netns_dir / "lock"));
    EXPECT_EQ(state.total_leases(), 1u);
  });
  // Until the kernel lists the waiter as blocked on this lock file ("->" in /proc/locks).
  std::string blocked = fmt::format(":{} ", inode_of(netns_dir / "lock"));
  bool waiting = false;
  for (int i = 0; i < 500 && !waiting; ++i) {
    std::ifstream locks("/proc/locks");
    for (std::string line; std::getline(locks, line);)
      if (line.find("->") != std::string::npos && line.find(blocked) != std::string::npos)
        waiting = true;
    if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(waiting) << "the waiter never blocked on the lock";
  EXPECT_FALSE(locked);
  EXPECT_TRUE(last->remove_if_unused());
  last.reset();
  waiter.join();
  EXPECT_TRUE(locked);
  // And a third run serialises with the waiter's directory, seeing its lease.
  NetState third(netns_dir, [](const Lease&) { return false; });
  EXPECT_EQ(third.total_leases(), 1u);
}

// State kept under a folder someone else controls could be swapped under us: refused.
TEST_F(Ipam, StateUnderADirectoryOfAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory away";
  fs::path foreign = dir_ / "4244";
  fs::create_directory(foreign);
  ASSERT_EQ(::chown(foreign.c_str(), 65534, 65534), 0);
  try {
    NetState state(foreign);
    FAIL() << "kept state in a directory of uid 65534";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("is not a directory of uid 0"));
  }
  // A symlink to a directory of our own is refused too.
  fs::create_directory(dir_ / "real");
  fs::create_directory_symlink(dir_ / "real", dir_ / "4245");
  EXPECT_THROW(NetState(dir_ / "4245"), Error);
  EXPECT_FALSE(fs::exists(dir_ / "real" / "lock"));
}

// Without root, bridges exist only in a netns of the user's own user namespace: per-user state.
TEST(NetnsState, NonRootStateLivesInTheUsersRuntimeDir) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to another uid";
  // In a child: the uid change must not touch this test process.
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    bool ok = ::setresuid(65534, 65534, 65534) == 0;
    ::setenv("XDG_RUNTIME_DIR", "/run/user/65534", 1);
    ok = ok && netns_state_dir(7) == fs::path("/run/user/65534/modrt-net/7");
    ::unsetenv("XDG_RUNTIME_DIR");
    ok = ok && netns_state_dir(7) == fs::path("/tmp/modrt-net-65534/7");
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(NetnsState, CookieIdentifiesTheNetnsAndNamesTheDirectory) {
  uint64_t here = netns_cookie();
  EXPECT_NE(here, 0u);
  EXPECT_EQ(netns_cookie(), here);
  UniqueFd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(udp);
  EXPECT_EQ(socket_netns_cookie(udp.get()), here);
  if (::geteuid() == 0) {
    EXPECT_EQ(netns_state_dir(here), fs::path("/run/modrt-net") / std::to_string(here));
  }
  uint64_t other = 0;
  int error = 0;
  // unshare(CLONE_NEWNET) changes only the calling thread's netns.
  std::thread([&] {
    if (::unshare(CLONE_NEWNET) < 0) {
      error = errno;
      return;
    }
    other = netns_cookie();
  }).join();
  if (error == EPERM) GTEST_SKIP() << "no CAP_SYS_ADMIN for a netns of our own";
  ASSERT_EQ(error, 0);
  EXPECT_NE(other, here);
  EXPECT_NE(netns_state_dir(other), netns_state_dir(here));
}

}  // namespace
}  // namespace modrt::net
