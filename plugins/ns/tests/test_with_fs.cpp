// ns together with the fs stage and the busybox rootfs: the container's own /proc shows only its
// processes, and every ns setting still holds behind pivot_root.
#include <filesystem>

#include "ns_test.hpp"

namespace modrt::test::ns {
namespace {

using NsWithFsTest = HostLeakTest;

TEST_F(NsWithFsTest, BusyboxContainerSeesItsOwnWorld) {
  if (!std::filesystem::exists(plugin_dir() + "/modrt_fs.so")) GTEST_SKIP() << "no fs plugin built";
  std::string script =
      "echo host=$(hostname); echo uid=$(id -u); echo gid=$(id -g); echo self=$$; "
      "echo pid1=$(cat /proc/1/comm); echo procs=$(ls /proc | grep -c '^[0-9]'); "
      "echo uid_map=$(awk '{print $1\":\"$2\":\"$3}' /proc/self/uid_map); "
      "echo busybox=$(readlink /bin/sh); echo boottime=$(cut -d. -f1 /proc/uptime)";
  // config() writes an ns-only stage list; the fs stage rides along at the end of its `with:`.
  std::string yaml =
      config(unique_name("ns"), script,
             "{namespaces: [user, pid, mount, uts, ipc, net, cgroup, time], init: true, "
             "time_offsets: {boottime: 200000s}, "
             "uid_map: [{container: 0, host: 100000, size: 65536}], "
             "gid_map: [{container: 0, host: 100000, size: 65536}]}\n"
             "  - plugin: fs\n"
             "    with: {rootfs: " +
                 busybox_rootfs() + ", overlay: {}}",
             "hostname: boxed\n", "{uid: 1000, gid: 1000}");
  std::string cfg = dir.write("c.yaml", yaml);
  Result r = modrt.run({"run", "-c", cfg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = values(r.out);
  EXPECT_EQ(v["host"], "boxed");
  EXPECT_EQ(v["uid"], "1000");
  EXPECT_EQ(v["gid"], "1000");
  EXPECT_EQ(v["self"], "2");  // init is PID 1, the workload its child
  // Its own /proc: init, sh and the few processes of the $(...) pipeline, none of the host's.
  EXPECT_GE(std::stoi(v["procs"]), 3);
  EXPECT_LE(std::stoi(v["procs"]), 6);
  EXPECT_EQ(v["pid1"], "modrt-init");  // the built-in init, a fork of modrt that hides its argv
  EXPECT_EQ(v["uid_map"], "0:100000:65536");
  EXPECT_EQ(v["busybox"], "/bin/busybox");
  EXPECT_GE(std::stol(v["boottime"]), 200000);
}

}  // namespace
}  // namespace modrt::test::ns
