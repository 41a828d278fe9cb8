// The order of the detached mounts modrt hands the workload: both sides compute it on their own,
// so it must follow from the options and the namespaces alone.
#include <sched.h>

#include <gtest/gtest.h>

#include "layout.hpp"

namespace modrt::fs {
namespace {

FsOptions with_mounts(std::initializer_list<MountSpec::Type> types) {
  FsOptions o;
  for (auto t : types) {
    MountSpec m;
    m.type = t;
    o.mounts.push_back(m);
  }
  return o;
}

TEST(HostMountLayout, RootAloneWithItsOwnNetnsAndNoUserns) {
  HostMountLayout l = host_mount_layout(FsOptions{}, CLONE_NEWNS | CLONE_NEWNET);
  EXPECT_FALSE(l.bind_devices);
  EXPECT_FALSE(l.bind_sys);
  EXPECT_EQ(l.count(), 1u);
  EXPECT_EQ(l.first_bind(), 1u);
}

TEST(HostMountLayout, UserNamespaceBindsTheHostsDevices) {
  HostMountLayout l = host_mount_layout(FsOptions{}, CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWNET);
  EXPECT_TRUE(l.bind_devices);
  EXPECT_EQ(l.first_device(), 1u);
  EXPECT_EQ(l.count(), 1u + kDevices.size());
}

TEST(HostMountLayout, NoNetnsBindsTheHostsSysBeforeTheBinds) {
  FsOptions o = with_mounts({MountSpec::Type::bind, MountSpec::Type::tmpfs, MountSpec::Type::bind});
  HostMountLayout l = host_mount_layout(o, CLONE_NEWNS | CLONE_NEWUSER);
  EXPECT_TRUE(l.bind_sys);
  EXPECT_EQ(l.binds, 2u);  // tmpfs mounts are made inside, not handed over
  EXPECT_EQ(l.sys_index(), 1u + kDevices.size());
  EXPECT_EQ(l.first_bind(), l.sys_index() + 1);
  EXPECT_EQ(l.count(), l.first_bind() + 2);
}

}  // namespace
}  // namespace modrt::fs
