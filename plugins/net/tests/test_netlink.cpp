// The core's netlink helper (modrt/netlink.hpp), as the net plugin uses it. Only reads: a socket in
// this process's netns and one bound to the same netns through /proc/self/ns/net.
#include <fcntl.h>
#include <net/if.h>

#include <cerrno>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netlink/errno.h>
#include <netlink/socket.h>

#include "link.hpp"
#include "modrt/error.hpp"
#include "modrt/fd.hpp"
#include "modrt/netlink.hpp"

namespace modrt::netlink {
namespace {

using ::testing::HasSubstr;

TEST(Netlink, LibnlErrorsBecomeErrnos) {
  EXPECT_EQ(to_errno(-NLE_EXIST), EEXIST);
  EXPECT_EQ(to_errno(NLE_NODEV), ENODEV);
  EXPECT_EQ(to_errno(-NLE_OBJ_NOTFOUND), ENOENT);
  EXPECT_EQ(to_errno(-NLE_PERM), EPERM);
  EXPECT_EQ(to_errno(-NLE_FAILURE), EIO);
  try {
    throw_nl_error(-NLE_EXIST, "create veth 'x'");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "create veth 'x': File exists");
    EXPECT_EQ(e.error_code(), EEXIST);
  }
  EXPECT_EQ(check(0, "fine"), 0);
  EXPECT_THROW(check(-NLE_NODEV, "look up '{}'", "eth9"), Error);
}

TEST(Netlink, ParsesAddressesOrNamesTheBadOne) {
  EXPECT_NE(parse_addr("10.88.0.1/16").get(), nullptr);
  EXPECT_NE(parse_addr("fd00::1/64").get(), nullptr);
  try {
    parse_addr("bogus/16");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("parse address 'bogus/16'"));
  }
}

TEST(Netlink, SocketsSeeLoopbackHereAndThroughANetnsFd) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to join a network namespace";
  Socket here = Socket::open();
  ASSERT_TRUE(here);
  auto lo = modrt::net::find_link(here.get(), "lo");
  ASSERT_TRUE(lo);
  EXPECT_EQ(lo->ifindex, 1);
  EXPECT_FALSE(modrt::net::find_link(here.get(), "no-such-if0"));
  // The socket is CLOEXEC even though libnl does not ask for it.
  EXPECT_TRUE(::fcntl(nl_socket_get_fd(here.get()), F_GETFD) & FD_CLOEXEC);

  UniqueFd self = open_fd("/proc/self/ns/net", O_RDONLY);
  Socket there = Socket::open_in(self.get());
  auto lo_there = modrt::net::find_link(there.get(), "lo");
  ASSERT_TRUE(lo_there);
  EXPECT_EQ(lo_there->ifindex, 1);

  Socket moved = std::move(there);
  EXPECT_TRUE(moved);
  EXPECT_FALSE(there);  // NOLINT(bugprone-use-after-move): a moved-from socket is empty
}

}  // namespace
}  // namespace modrt::netlink
