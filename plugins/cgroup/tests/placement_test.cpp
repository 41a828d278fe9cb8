#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "placement.hpp"

namespace modrt::cgroup {
namespace {

using ::testing::HasSubstr;

Hierarchy v1(const char* mount, std::set<std::string> controllers, std::string own = "") {
  Hierarchy h;
  h.mount = mount;
  h.controllers = std::move(controllers);
  h.own = std::move(own);
  return h;
}

// This machine: v1 for everything but hugetlb, which only the cgroup2 mount has, and whose root
// (modrt's own cgroup there) does not delegate it.
HostLayout hybrid() {
  HostLayout l;
  Hierarchy u;
  u.version = Version::v2;
  u.mount = "/sys/fs/cgroup/unified";
  u.controllers = {"hugetlb"};
  l.unified = u;
  l.v1 = {v1("/sys/fs/cgroup/cpu", {"cpu"}), v1("/sys/fs/cgroup/cpuacct", {"cpuacct"}),
          v1("/sys/fs/cgroup/memory", {"memory"}, "svc/x"),
          v1("/sys/fs/cgroup/freezer", {"freezer"}), v1("/sys/fs/cgroup/pids", {"pids"})};
  return l;
}

// The same host after its owner delegated hugetlb in the unified root's cgroup.subtree_control.
HostLayout hybrid_delegating_hugetlb() {
  HostLayout l = hybrid();
  l.unified->delegated = {"hugetlb"};
  return l;
}

HostLayout pure_v2() {
  HostLayout l;
  Hierarchy u;
  u.version = Version::v2;
  u.mount = "/sys/fs/cgroup";
  u.own = "user.slice/me";
  u.controllers = {"cpu", "memory", "pids", "io"};
  u.delegated = {"cpu", "memory", "pids"};
  l.unified = u;
  return l;
}

Options opts(DriverChoice d = DriverChoice::automatic) {
  Options o;
  o.driver = d;
  return o;
}

std::set<std::string> mounts(const Plan& p) {
  std::set<std::string> out;
  for (const auto& t : p.targets) out.insert(t.hierarchy.mount.string());
  return out;
}

TEST(Placement, HybridHugetlbOnV2RestOnV1WhenV2DelegatesIt) {
  Options o = opts();
  o.resources.hugetlb_max["2MB"] = 4 << 20;
  o.resources.memory_max = 32 << 20;
  o.resources.cpu_max = CpuMax{20000, 100000};
  Plan p = plan_placement(hybrid_delegating_hugetlb(), o);
  ASSERT_FALSE(p.targets.empty());
  EXPECT_EQ(p.targets[0].hierarchy.version, Version::v2);  // first: its fd goes to clone3
  EXPECT_EQ(p.targets[0].controllers, std::set<std::string>{"hugetlb"});
  EXPECT_EQ(p.targets[0].writes.at(0).file, "hugetlb.2MB.max");
  // memory and cpu limits, pids for accounting; no freezer: cgroup.kill of the v2 cgroup kills all.
  EXPECT_EQ(mounts(p), (std::set<std::string>{"/sys/fs/cgroup/unified", "/sys/fs/cgroup/cpu",
                                              "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids"}));
  EXPECT_THAT(p.drivers,
              ::testing::ElementsAre(std::pair<std::string, Version>{"cpu", Version::v1},
                                     std::pair<std::string, Version>{"hugetlb", Version::v2},
                                     std::pair<std::string, Version>{"memory", Version::v1},
                                     std::pair<std::string, Version>{"pids", Version::v1}));
  for (const auto& t : p.targets) {
    if (t.hierarchy.mount == "/sys/fs/cgroup/memory") {
      EXPECT_EQ(t.writes.at(0).file, "memory.limit_in_bytes");
    }
  }
}

TEST(Placement, HugetlbTheV2RootHasButDoesNotDelegateIsRefusedNotEnabled) {
  Options o = opts();
  o.resources.hugetlb_max["2MB"] = 4 << 20;
  o.resources.memory_max = 32 << 20;
  try {
    plan_placement(hybrid(), o);
    FAIL() << "expected an error";
  } catch (const PlacementError& e) {
    EXPECT_EQ(e.key(), "hugetlb.2MB.max");
    EXPECT_THAT(e.what(), HasSubstr("hugetlb is available in the cgroup2 hierarchy at "
                                    "/sys/fs/cgroup/unified but not delegated to modrt's cgroup "
                                    "'/' (not in its cgroup.subtree_control)"));
    EXPECT_THAT(e.what(), HasSubstr("no v1 hierarchy has it"));
    EXPECT_THAT(e.what(), HasSubstr("modrt does not change cgroups it did not create"));
  }
  // Without the hugetlb limit the same host is fine: placement in v2 needs no controller.
  o.resources.hugetlb_max.clear();
  Plan p = plan_placement(hybrid(), o);
  EXPECT_EQ(p.targets.at(0).hierarchy.version, Version::v2);
  EXPECT_TRUE(p.targets.at(0).controllers.empty());
  EXPECT_TRUE(p.targets.at(0).writes.empty());
}

TEST(Placement, AnUndelegatedV2ControllerFallsBackToV1WhenV1HasIt) {
  HostLayout l = hybrid();
  l.unified->controllers = {"hugetlb", "pids"};
  Options o = opts();
  o.resources.pids_max = 16;
  Plan p = plan_placement(l, o);
  EXPECT_THAT(p.drivers, ::testing::Contains(std::pair<std::string, Version>{"pids", Version::v1}));
  EXPECT_TRUE(p.targets.at(0).controllers.empty());
}

TEST(Placement, WithoutAccountingOnlyWhatLimitsNeed) {
  Options o = opts();
  o.accounting = false;
  o.resources.pids_max = 16;
  EXPECT_EQ(mounts(plan_placement(hybrid(), o)),
            (std::set<std::string>{"/sys/fs/cgroup/unified", "/sys/fs/cgroup/pids"}));
}

TEST(Placement, DriverV1AddsCpuacctAndFreezer) {
  Options o = opts(DriverChoice::v1);
  o.resources.memory_max = 1 << 30;
  Plan p = plan_placement(hybrid(), o);
  EXPECT_EQ(mounts(p), (std::set<std::string>{"/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/memory",
                                              "/sys/fs/cgroup/freezer", "/sys/fs/cgroup/pids"}));
}

TEST(Placement, DriverV2RefusesWhatOnlyV1Has) {
  Options o = opts(DriverChoice::v2);
  o.resources.memory_max = 1 << 30;
  try {
    plan_placement(hybrid(), o);
    FAIL() << "expected an error";
  } catch (const PlacementError& e) {
    EXPECT_EQ(e.key(), "memory.max");
    EXPECT_THAT(e.what(), HasSubstr("driver v2"));
    EXPECT_THAT(e.what(), HasSubstr("delegates [], not [hugetlb]"));
  }
}

TEST(Placement, ControllerNoHierarchyOffers) {
  Options o = opts();
  o.resources.io_weight = 100;  // no blkio mount in this layout, no io on v2
  EXPECT_THROW(plan_placement(hybrid(), o), PlacementError);
  o.driver = DriverChoice::v1;
  o.resources.io_weight.reset();
  o.resources.hugetlb_max["2MB"] = 1;
  EXPECT_THROW(plan_placement(hybrid(), o), PlacementError);
}

TEST(Placement, PureV2UsesOnlyDelegatedControllers) {
  Options o = opts();
  o.resources.memory_max = 1 << 30;
  Plan p = plan_placement(pure_v2(), o);
  ASSERT_EQ(p.targets.size(), 1u);
  EXPECT_EQ(p.targets[0].controllers, (std::set<std::string>{"memory", "pids"}));
  o.resources.io_weight = 100;  // our cgroup has io, but does not delegate it
  try {
    plan_placement(pure_v2(), o);
    FAIL() << "expected an error";
  } catch (const PlacementError& e) {
    EXPECT_EQ(e.key(), "io.weight");
    EXPECT_THAT(e.what(), HasSubstr("io is available in the cgroup2 hierarchy at /sys/fs/cgroup "
                                    "but not delegated to modrt's cgroup '/user.slice/me'"));
  }
}

TEST(Placement, DriverV2WithAnUndelegatedControllerSaysSo) {
  Options o = opts(DriverChoice::v2);
  o.resources.hugetlb_max["2MB"] = 1 << 21;
  try {
    plan_placement(hybrid(), o);
    FAIL() << "expected an error";
  } catch (const PlacementError& e) {
    EXPECT_THAT(e.what(), HasSubstr("not delegated"));
    EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("v1 hierarchy")));
  }
  EXPECT_EQ(plan_placement(hybrid_delegating_hugetlb(), o).targets.at(0).controllers,
            std::set<std::string>{"hugetlb"});
}

TEST(Placement, SwapWithoutMemoryLimitOnV1) {
  Options o = opts();
  o.resources.memory_swap_max = 1 << 20;
  try {
    plan_placement(hybrid(), o);
    FAIL();
  } catch (const PlacementError& e) {
    EXPECT_EQ(e.key(), "memory.swap.max");
  }
}

}  // namespace
}  // namespace modrt::cgroup
