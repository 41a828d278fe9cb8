// The crash matrix: a full web.yaml-shaped run (ns, fs with overlay, cgroup, a bridge with a
// published port, seccomp) is SIGKILLed right after each journal event in turn, N = 1, 2, ... until
// a run gets to its end without being killed. After every kill, `modrt gc` must exit 0 and leave
// nothing: no link, address, nft rule, IPAM state, cgroup, mount or state dir. The test's own
// network namespace plays the host, so the bridge and the nft table never reach this machine's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>

#include "modrt_test.hpp"

namespace modrt::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class CrashMatrix : public NetnsHostTest {
 protected:
  // Everything of modrt's that a run can leave: on the host (mounts, cgroups) and in the test's
  // host netns; and state dirs. Empty when clean.
  std::vector<std::string> leftovers(const HostSnapshot& before) const {
    std::vector<std::string> out = diff(before, HostSnapshot::take());
    for (auto& l : netns_leftovers()) out.push_back(std::move(l));
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(modrt.state_root(), ec))
      if (e.path().filename().string().front() != '.')
        out.push_back("state dir: " + e.path().string());
    return out;
  }
};

TEST_F(CrashMatrix, GcCleansUpAfterAKillAtEveryJournalEvent) {
  std::string name = unique_name("crash");
  std::string bridge = unique_name("mrb");
  std::string cfg = dir.write(
      "web.yaml",
      "name: " + name +
          "\nhostname: web\nprocess:\n  args: [/bin/true]\nstages:\n"
          "  - plugin: ns\n    with: {namespaces: [user, pid, mount, uts, ipc, net, cgroup],"
          " uid_map: [{container: 0, host: 100000, size: 65536}],"
          " gid_map: [{container: 0, host: 100000, size: 65536}], init: true}\n"
          "  - plugin: fs\n    with: {rootfs: " +
          busybox_rootfs() +
          ", overlay: {}, mounts: [{type: tmpfs, destination: /tmp, size: 16M}]}\n"
          "  - plugin: cgroup\n    with: {memory.max: 64M, pids.max: 64, cpu.max: \"50%\"}\n"
          "  - plugin: net\n    with: {mode: bridge, bridge: " +
          bridge +
          ", subnet: 10.124.0.0/24, ports: [\"18080:80/tcp\"]}\n"
          "  - plugin: seccomp\n    with: {profile: default}\n");
  HostSnapshot before = HostSnapshot::take();
  int kills = 0;
  bool completed = false;
  for (int n = 1; n <= 200 && !completed; ++n) {
    std::vector<std::string> argv{"env", "MODRT_TEST_KILL_AT_EVENT=" + std::to_string(n)};
    for (const auto& a : host_argv(modrt.argv({"run", "-c", cfg}))) argv.push_back(a);
    Result r = run(argv, 120s);
    if (r.exit_code == 0) {
      completed = true;
    } else {
      ASSERT_EQ(r.exit_code, 128 + SIGKILL) << "event " << n << ": " << r.err;
      ++kills;
    }
    Result gc = run(host_argv(modrt.argv({"gc"})), 120s);
    EXPECT_EQ(gc.exit_code, 0) << "event " << n << ": " << gc.out << gc.err;
    // A veth goes with the workload's netns, which the kernel tears down asynchronously.
    std::vector<std::string> left;
    wait_until([&] { return (left = leftovers(before)).empty(); }, 5s);
    EXPECT_TRUE(left.empty()) << "after a kill at event " << n << ":\n"
                              << ::testing::PrintToString(left);
    if (!left.empty()) break;
  }
  EXPECT_TRUE(completed) << "the run never reached its end";
  EXPECT_GE(kills, 20) << "a full run journals more events than that";
  RecordProperty("kill_points", kills);
  std::cout << "crash matrix: " << kills << " kill points, each collected by gc\n";
}

}  // namespace
}  // namespace modrt::test
