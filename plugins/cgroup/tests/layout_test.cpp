#include <gtest/gtest.h>

#include "host_layout.hpp"

namespace modrt::cgroup {
namespace {

// This machine's hybrid layout: v1 controllers, name=systemd, and a cgroup2 mount at unified/.
constexpr const char* kHybridMountinfo =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
constexpr const char* kHybridCgroup =
    "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n2:cpuacct:/\n1:cpu:/\n0::/\n";

TEST(Layout, HybridHostFindsEachHierarchyAndOurPlaceInIt) {
  HostLayout layout = parse_layout(kHybridMountinfo, kHybridCgroup);
  ASSERT_TRUE(layout.unified);
  EXPECT_EQ(layout.unified->mount, "/sys/fs/cgroup/unified");
  EXPECT_TRUE(layout.unified->own_is_root());
  ASSERT_EQ(layout.v1.size(), 4u);  // name=systemd has no controller and is left out
  const Hierarchy* memory = layout.v1_for("memory");
  ASSERT_NE(memory, nullptr);
  EXPECT_EQ(memory->own_dir(), "/sys/fs/cgroup/memory/process_api/abc");
  EXPECT_EQ(layout.v1_for("pids")->own_dir(), "/sys/fs/cgroup/pids");
  EXPECT_EQ(layout.v1_for("hugetlb"), nullptr);
}

TEST(Layout, CoMountedControllersShareOneHierarchy) {
  HostLayout layout =
      parse_layout("32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n",
                   "3:cpu,cpuacct:/user.slice\n");
  ASSERT_EQ(layout.v1.size(), 1u);
  EXPECT_EQ(layout.v1_for("cpuacct"), layout.v1_for("cpu"));
  EXPECT_EQ(layout.v1[0].own_dir(), "/sys/fs/cgroup/cpu,cpuacct/user.slice");
  EXPECT_FALSE(layout.unified);
}

TEST(Layout, PureV2HostAndAMountOfASubtree) {
  // Inside a container the cgroup2 mount's root is our own cgroup: our path is relative to it.
  HostLayout layout = parse_layout(
      "30 20 0:26 /ctr /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n", "0::/ctr/inner\n");
  ASSERT_TRUE(layout.unified);
  EXPECT_EQ(layout.unified->own, "inner");
  EXPECT_EQ(layout.unified->own_dir(), "/sys/fs/cgroup/inner");
  EXPECT_TRUE(layout.v1.empty());
}

TEST(Layout, MountThatDoesNotShowOurCgroupIsSkipped) {
  HostLayout layout =
      parse_layout("30 20 0:26 /other /mnt/cg rw - cgroup2 cgroup2 rw\n", "0::/mine\n");
  EXPECT_FALSE(layout.unified);
}

TEST(Layout, OfferedV2ControllersAreOnlyTheOnesOurCgroupDelegates) {
  // At the hierarchy's root too: what the root has but does not delegate stays off limits,
  // since turning it on there would change every service's cgroup.
  HostLayout layout = parse_layout(kHybridMountinfo, kHybridCgroup);
  layout.unified->controllers = {"hugetlb"};
  EXPECT_TRUE(layout.v2_offered().empty());
  EXPECT_EQ(layout.v2_undelegated(), std::set<std::string>{"hugetlb"});
  EXPECT_EQ(
      layout.describe().rfind("cgroup2 at /sys/fs/cgroup/unified delegates [], not [hugetlb]; ", 0),
      0u)
      << layout.describe();
  layout.unified->delegated = {"hugetlb"};
  EXPECT_EQ(layout.v2_offered(), std::set<std::string>{"hugetlb"});
  EXPECT_TRUE(layout.v2_undelegated().empty());
  layout.unified->own = "service";
  layout.unified->controllers = {"hugetlb", "io"};
  layout.unified->delegated = {"io"};
  EXPECT_EQ(layout.v2_offered(), std::set<std::string>{"io"});
  EXPECT_EQ(layout.v2_undelegated(), std::set<std::string>{"hugetlb"});
}

TEST(Layout, EscapedMountPaths) {
  EXPECT_EQ(unescape_mount_path("/a\\040b"), "/a b");
}

}  // namespace
}  // namespace modrt::cgroup
