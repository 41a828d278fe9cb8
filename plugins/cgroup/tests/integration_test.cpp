// The cgroup stage on this real (hybrid) host: limits hold, an OOM death is reported as 137, and
// whatever happens, no cgroup or process of the container is left. Configs use only the ns and
// cgroup stages, so the workload is a host binary (cgroup_workload, /bin/sh) in its own namespaces.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "host_cgroups.hpp"
#include "modrt_test.hpp"

namespace modrt::cgroup::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using modrt::test::Result;
using ::testing::HasSubstr;

const std::string kWorkload = CGROUP_WORKLOAD;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::set<std::string> split_words(const std::string& text) {
  std::istringstream in(text);
  std::set<std::string> out;
  for (std::string word; in >> word;) out.insert(word);
  return out;
}

uint64_t field_of(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  for (std::string key; in >> key;) {
    uint64_t v = 0;
    if (!(in >> v)) return 0;
    if (key == name) return v;
  }
  return 0;
}

// A `sleep` this test alone starts: its duration argument ("600.<digits>") is unique, so
// `pgrep -fx` finds exactly the ones left over. (The host's /bin/sh has no `exec -a`.)
std::string leftover_sleep() {
  static int counter = 0;
  return "sleep 600." + std::to_string(::getpid() % 100000) + std::to_string(++counter);
}

// Whether any process runs `command` (its whole command line), e.g. a leftover_sleep().
bool running(const std::string& command) {
  return modrt::test::run({"pgrep", "-fx", command}).exit_code == 0;
}

class CgroupTest : public modrt::test::HostLeakTest {
 protected:
  void SetUp() override {
    HostLeakTest::SetUp();
    name_ = modrt::test::unique_name("cg");
  }

  // A config of ns + cgroup (+ extra stages), the cgroup stage's `with:` given as YAML flow text.
  std::string config(const std::string& cgroup_with, const std::string& extra_stages = "",
                     const std::string& namespaces = "[pid, mount, ipc, uts]") {
    return dir.write(name_ + ".yaml",
                     "name: " + name_ +
                         "\nprocess:\n  args: [/bin/true]\n  env: [PATH=/usr/bin:/bin]\n"
                         "stages:\n  - plugin: ns\n    with: {namespaces: " +
                         namespaces + "}\n  - plugin: cgroup\n    with: " + cgroup_with + "\n" +
                         extra_stages);
  }

  Result run(const std::string& cfg, const std::vector<std::string>& cmd,
             const std::vector<std::string>& flags = {}) {
    std::vector<std::string> args = flags;
    for (const char* a : {"run", "-c"}) args.push_back(a);
    args.push_back(cfg);
    args.push_back("--");
    args.insert(args.end(), cmd.begin(), cmd.end());
    return modrt.run(args, 90s);
  }

  std::vector<std::string> background_argv(const std::string& cfg,
                                           const std::vector<std::string>& cmd) {
    std::vector<std::string> args{"run", "-c", cfg, "--"};
    args.insert(args.end(), cmd.begin(), cmd.end());
    return modrt.argv(args);
  }

  // No directory of this container in any hierarchy, and the shared modrt/ parent gone with it.
  void expect_no_cgroups_left() {
    for (const char* c : {"", "memory", "pids", "cpu", "cpuacct", "freezer", "cpuset", "blkio"})
      for (const auto& dir : container_cgroup_dirs(c, name_)) ADD_FAILURE() << dir << " survived";
  }

  std::string name_;
};

TEST_F(CgroupTest, MemoryMaxOomKillsTheWorkloadAndModrtExits137) {
  Result r = run(config("{memory.max: 32M}"), {kWorkload, "alloc", "64"});
  EXPECT_EQ(r.exit_code, 137) << r.err;
  EXPECT_THAT(r.err, HasSubstr("OOM killer"));
  EXPECT_THAT(r.err, HasSubstr("memory.max 32.0M"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("allocated")));
  expect_no_cgroups_left();
}

TEST_F(CgroupTest, WithinMemoryMaxTheWorkloadRunsNormally) {
  Result r = run(config("{memory.max: 32M}"), {kWorkload, "alloc", "8"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("allocated 8 MiB"));
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("OOM")));
}

TEST_F(CgroupTest, PidsMaxCapsAForkLoopAndTheContainerStillExitsCleanly) {
  Result r = run(config("{pids.max: 16}"), {kWorkload, "fork", "40", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  int ok = -1, failed = -1;
  ASSERT_EQ(std::sscanf(r.out.c_str(), "forked %d failed %d", &ok, &failed), 2) << r.out;
  EXPECT_LE(ok + 1, 16) << "the workload and its children are tasks of the cgroup";
  EXPECT_GT(failed, 0);
  expect_no_cgroups_left();
}

TEST_F(CgroupTest, WithoutPidsMaxTheSameLoopForksEveryChild) {
  Result r = run(config("{}"), {kWorkload, "fork", "40", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("forked 40 failed 0"));
}

TEST_F(CgroupTest, CpuMax20PercentHoldsABusyLoopUnder25PercentOfACpu) {
  modrt::test::Background bg(background_argv(config("{cpu.max: '20%'}"), {kWorkload, "spin", "6"}));
  // The v2 cgroup always exists here (accounting and cgroup.kill); its cpu.stat counts the CPU
  // time the workload really got, whatever the wall clock did.
  auto v2 = container_cgroup_dir("", name_);
  auto cpu_v1 = container_cgroup_dir("cpu", name_);
  ASSERT_TRUE(v2 && cpu_v1);
  std::string stat = *v2 + "/cpu.stat";
  ASSERT_TRUE(modrt::test::wait_until([&] { return field_of(slurp(stat), "usage_usec") > 0; }))
      << "workload never ran in " << *v2;
  EXPECT_EQ(slurp(*cpu_v1 + "/cpu.cfs_quota_us"), "20000\n");
  uint64_t u0 = field_of(slurp(stat), "usage_usec");
  auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(2s);
  uint64_t u1 = field_of(slurp(stat), "usage_usec");
  auto elapsed_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
  double share = static_cast<double>(u1 - u0) / static_cast<double>(elapsed_us.count());
  EXPECT_LE(share, 0.25);
  EXPECT_GE(share, 0.05) << "the loop should have been running";
  EXPECT_GT(field_of(slurp(*cpu_v1 + "/cpu.stat"), "nr_throttled"), 0u);
  Result r = bg.wait(30s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  expect_no_cgroups_left();
}

// hugetlb is in this host's cgroup2 hierarchy, but modrt's cgroup there (its root) does not
// delegate it, and no v1 hierarchy has it. Enabling it would change a cgroup modrt did not create,
// so the limit is refused before anything is made.
TEST_F(CgroupTest, HugetlbThatV2HasButDoesNotDelegateIsRefusedAtValidate) {
  auto own = own_cgroup_dir("");
  ASSERT_TRUE(own);
  std::string before = slurp(*own + "/cgroup.subtree_control");
  if (split_words(slurp(*own + "/cgroup.controllers")).count("hugetlb") == 0 ||
      split_words(before).count("hugetlb") > 0)
    GTEST_SKIP() << "needs hugetlb in " << *own << "/cgroup.controllers, not delegated";
  std::string cfg = config("{hugetlb.2MB.max: 4M, memory.max: 64M}");
  Result v = modrt.run({"validate", "-c", cfg});
  EXPECT_EQ(v.exit_code, 2) << v.err;
  EXPECT_THAT(v.err, HasSubstr(name_ + ".yaml:"));
  EXPECT_THAT(v.err, HasSubstr("hugetlb.2MB.max"));
  EXPECT_THAT(v.err, HasSubstr("hugetlb is available in the cgroup2 hierarchy at "));
  EXPECT_THAT(v.err, HasSubstr("but not delegated to modrt's cgroup '" + own_cgroup_path("") +
                               "' (not in its cgroup.subtree_control)"));
  EXPECT_THAT(v.err, HasSubstr("modrt does not change cgroups it did not create"));

  Result r = run(cfg, {"/bin/true"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("not delegated"));
  expect_no_cgroups_left();
  for (const char* c : {"", "memory", "pids"}) EXPECT_TRUE(container_cgroup_dirs(c, name_).empty());
  EXPECT_EQ(slurp(*own + "/cgroup.subtree_control"), before);
}

// Where the owner of modrt's cgroup does delegate hugetlb (not on this host), it goes through v2
// while memory and pids go through v1.
TEST_F(CgroupTest, HugetlbThroughV2WhenDelegatedWhileMemoryAndPidsGoThroughV1) {
  auto own = own_cgroup_dir("");
  ASSERT_TRUE(own);
  std::string before = slurp(*own + "/cgroup.subtree_control");
  if (split_words(before).count("hugetlb") == 0)
    GTEST_SKIP() << "hugetlb is not delegated in " << *own << "/cgroup.subtree_control";
  // The cgroup's name is drawn per run: the workload finds it in /proc/self/cgroup.
  Result r =
      run(config("{hugetlb.2MB.max: 4M, memory.max: 64M, pids.max: 32}"),
          {"/bin/sh", "-c", "cat /proc/self/cgroup " + own_dir_in_shell("") + "/hugetlb.2MB.max"},
          {"--log-level", "info"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("controller hugetlb: cgroup v2"));
  EXPECT_THAT(r.err, HasSubstr("controller memory: cgroup v1"));
  EXPECT_THAT(r.err, HasSubstr("controller pids: cgroup v1"));
  EXPECT_THAT(r.out, HasSubstr("4194304"));  // the limit, read inside the container
  EXPECT_THAT(
      r.out, ::testing::MatchesRegex("(.|\n)*0::/(.*/)?modrt/" + name_ + "-[0-9a-f]{12}\n(.|\n)*"));
  EXPECT_THAT(r.out, ::testing::MatchesRegex("(.|\n)*:memory:/.*/modrt/" + name_ +
                                             "-[0-9a-f]{12}\n(.|\n)*"));
  expect_no_cgroups_left();
  EXPECT_EQ(slurp(*own + "/cgroup.subtree_control"), before);
}

// With a cgroup namespace the container's own cgroups are its root. The v1 join runs in the
// workload prologue, before the ns stage creates that namespace, so v1 shows "/" as v2 does,
// with or without a user namespace.
TEST_F(CgroupTest, InACgroupNamespaceTheContainerSeesItsCgroupsAsRoot) {
  const std::string userns =
      "[user, pid, mount, ipc, uts, cgroup], uid_map: [{container: 0, host: 100000, size: 65536}], "
      "gid_map: [{container: 0, host: 100000, size: 65536}]";
  for (const std::string& namespaces : {std::string("[pid, mount, ipc, uts, cgroup]"), userns}) {
    SCOPED_TRACE(namespaces);
    Result r = run(config("{memory.max: 64M, pids.max: 32, cpu.max: '50%'}", "", namespaces),
                   {"/bin/sh", "-c", "cat /proc/self/cgroup; echo ---; ls -l /proc/self/fd/"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto sep = r.out.find("---\n");
    ASSERT_NE(sep, std::string::npos) << r.out;
    std::string cgroups = r.out.substr(0, sep), fds = r.out.substr(sep + 4);
    for (const char* c : {":memory:/\n", ":pids:/\n", ":cpu:/\n", "\n0::/\n"})
      EXPECT_THAT("\n" + cgroups, HasSubstr(c)) << cgroups;
    EXPECT_THAT(cgroups, ::testing::Not(HasSubstr("modrt"))) << cgroups;
    // The host-opened `tasks` fds were closed after the join: none reaches the workload's code.
    EXPECT_THAT(fds, ::testing::Not(HasSubstr("/tasks"))) << fds;
    expect_no_cgroups_left();
  }
}

// The same with fs: it mounts cgroup2 at /sys/fs/cgroup inside, rooted at the container's own
// cgroup, so a sibling container running at the same time is not there to see.
TEST_F(CgroupTest, WithFsTheContainersCgroupfsShowsNoSiblings) {
  if (!fs::exists(modrt::test::plugin_dir() + "/modrt_fs.so"))
    GTEST_SKIP() << "the fs plugin is not built";
  std::string sibling_name = name_;
  std::string sibling = config("{pids.max: 16}");
  name_ = modrt::test::unique_name("cg");
  modrt::test::Background other(background_argv(sibling, {"/bin/sleep", "2"}));
  auto sibling_dir = container_cgroup_dir("", sibling_name);
  ASSERT_TRUE(sibling_dir);
  ASSERT_TRUE(
      modrt::test::wait_until([&] { return !slurp(*sibling_dir + "/cgroup.procs").empty(); }));
  std::string cfg = dir.write(
      name_ + ".yaml",
      "name: " + name_ +
          "\nprocess:\n  args: [/bin/true]\n  env: [PATH=/bin]\nstages:\n  - plugin: ns\n"
          "    with: {namespaces: [pid, mount, ipc, uts, net, cgroup]}\n  - plugin: fs\n"
          "    with: {rootfs: " +
          modrt::test::busybox_rootfs() +
          ", readonly: true}\n  - plugin: cgroup\n    with: {memory.max: 64M, pids.max: 32}\n");
  Result r = run(cfg, {"/bin/sh", "-c", "cat /proc/self/cgroup; echo ---; ls -a /sys/fs/cgroup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto sep = r.out.find("---\n");
  ASSERT_NE(sep, std::string::npos) << r.out;
  std::string cgroups = r.out.substr(0, sep), listing = r.out.substr(sep + 4);
  for (const char* c : {":memory:/\n", ":pids:/\n", "\n0::/\n"})
    EXPECT_THAT("\n" + cgroups, HasSubstr(c)) << cgroups;
  EXPECT_THAT(listing, HasSubstr("cgroup.procs"));
  EXPECT_THAT(listing, ::testing::Not(HasSubstr(sibling_name)));
  EXPECT_THAT(listing, ::testing::Not(HasSubstr("modrt")));
  EXPECT_EQ(other.wait(30s).exit_code, 0);
  expect_no_cgroups_left();
  name_ = sibling_name;
  expect_no_cgroups_left();
}

TEST_F(CgroupTest, TheWorkloadJoinsV1CgroupsFromInsideAUserNamespace) {
  // The v1 join happens inside the workload (through `tasks` fds opened on the host), after the
  // ns stage made it uid 0 of a user namespace that is nobody on the host.
  Result r = run(
      config("{memory.max: 64M, pids.max: 32, cpu.max: '50%'}", "",
             "[user, pid, mount, ipc, uts], uid_map: [{container: 0, host: 100000, size: 65536}], "
             "gid_map: [{container: 0, host: 100000, size: 65536}]"),
      {"/bin/cat", "/proc/self/cgroup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* c : {":memory:", ":pids:", ":cpu:"}) {
    EXPECT_THAT(r.out, ::testing::MatchesRegex("(.|\n)*" + std::string(c) + "/.*modrt/" + name_ +
                                               "-[0-9a-f]{12}\n(.|\n)*"))
        << c;
  }
  expect_no_cgroups_left();
}

TEST_F(CgroupTest, AnAbsoluteParentIsCreatedAndRemovedWithTheContainer) {
  // Only pids (accounting off), whose hierarchy and cgroup2 both have us at their root, so the
  // parent lands beneath our own cgroup in each hierarchy it touches.
  std::string parent = "/modrt-parent-" + name_ + "/jobs";
  Result r = run(config("{parent: " + parent + ", accounting: false, pids.max: 8}"),
                 {"/bin/cat", "/proc/self/cgroup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(":pids:" + parent + "/" + name_ + "-"));
  EXPECT_THAT(r.out, HasSubstr("0::" + parent + "/" + name_ + "-"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr(":memory:" + parent)));
  for (const char* c : {"", "pids"}) {
    auto own = own_cgroup_dir(c);
    ASSERT_TRUE(own);
    EXPECT_FALSE(fs::exists(*own + "/modrt-parent-" + name_)) << "in " << *own;
  }
}

TEST_F(CgroupTest, ConcurrentContainersShareTheModrtParentAndTheLastOneRemovesIt) {
  std::string first = config("{pids.max: 16}");
  std::string first_name = name_;
  name_ = modrt::test::unique_name("cg");
  std::string second = config("{pids.max: 16}");
  auto parent = own_cgroup_dir("pids");
  ASSERT_TRUE(parent);
  std::string shared = *parent + "/modrt";
  modrt::test::Background long_one(background_argv(first, {"/bin/sleep", "3"}));
  ASSERT_TRUE(container_cgroup_dir("pids", first_name));
  Result short_one = run(second, {"/bin/true"});
  EXPECT_EQ(short_one.exit_code, 0) << short_one.err;
  EXPECT_TRUE(fs::exists(shared)) << "removed while another container was in it";
  EXPECT_TRUE(container_cgroup_dirs("pids", name_).empty());
  EXPECT_EQ(long_one.wait(30s).exit_code, 0);
  EXPECT_FALSE(fs::exists(shared)) << "the last container out leaves the shared parent behind";
}

TEST_F(CgroupTest, IoCpusetAndCpuWeightReachTheirV1Files) {
  if (!fs::is_block_file("/dev/loop0")) GTEST_SKIP() << "no /dev/loop0 to throttle";
  // The cgroups' names are drawn per run: the workload finds them in /proc/self/cgroup.
  for (const char* c : {"blkio", "cpuset", "cpu"})
    ASSERT_TRUE(hierarchy_mount(c)) << "needs a v1 " << c << " hierarchy";
  std::string script = "cat " + own_dir_in_shell("blkio") + "/blkio.throttle.read_bps_device " +
                       own_dir_in_shell("blkio") + "/blkio.throttle.write_iops_device " +
                       own_dir_in_shell("cpuset") + "/cpuset.cpus " + own_dir_in_shell("cpu") +
                       "/cpu.shares; grep Cpus_allowed_list /proc/self/status";
  Result r = run(config("{io.max: [{device: /dev/loop0, rbps: 1M, wiops: 100}], cpuset.cpus: '1', "
                        "cpu.weight: 50}"),
                 {"/bin/sh", "-c", script});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "7:0 1048576\n7:0 100\n1\n512\nCpus_allowed_list:\t1\n");
  expect_no_cgroups_left();
}

TEST_F(CgroupTest, LeftoverProcessesAreKilledWhenTheWorkloadExits) {
  // No pid namespace: the background sleep would outlive its parent if the cgroup did not end it.
  std::string sleep = leftover_sleep();
  Result r = run(config("{}", "", "[mount]"),
                 {"/bin/sh", "-c",
                  sleep + " & sleep 0.2; pgrep -fx '" + sleep + "' >/dev/null && echo started"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("started"));
  EXPECT_FALSE(running(sleep)) << "the leftover survived";
  expect_no_cgroups_left();
}

// Kernels before 5.14 have no cgroup.kill: the v2 cgroup is frozen (cgroup.freeze), every listed
// task SIGKILLed through a pidfd, and thawed. Played on this kernel with the test hook.
TEST_F(CgroupTest, WithoutCgroupKillLeftoversAreFrozenAndKilledOneByOne) {
  std::string first = leftover_sleep(), second = leftover_sleep();
  ::setenv("MODRT_CGROUP_FORCE_NO_KILL_FILE", "1", 1);
  Result r = run(
      config("{}", "", "[mount]"),
      {"/bin/sh", "-c",
       first + " & " + second + " & sleep 0.2; pgrep -fx '" + second + "' >/dev/null && echo up"},
      {"--log-level", "debug"});
  ::unsetenv("MODRT_CGROUP_FORCE_NO_KILL_FILE");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "up\n");
  EXPECT_THAT(r.err, ::testing::MatchesRegex("(.|\n)*froze /sys/fs/cgroup/unified/.*modrt/" +
                                             name_ + "-[0-9a-f]{12} to kill(.|\n)*"));
  EXPECT_FALSE(running(first) || running(second)) << "a leftover survived";
  expect_no_cgroups_left();
}

TEST_F(CgroupTest, DriverV1KillsLeftoversWithTheFreezer) {
  Result r = run(config("{driver: v1, memory.max: 64M}", "", "[mount]"),
                 {"/bin/sh", "-c", "sleep 60 & sleep 60 & cat /proc/self/cgroup"},
                 {"--log-level", "info"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(":freezer:/modrt/" + name_ + "-"));
  EXPECT_THAT(r.out, HasSubstr("0::/\n"));  // driver v1: no v2 cgroup
  expect_no_cgroups_left();
}

TEST_F(CgroupTest, GcAfterModrtWasKilledRemovesTheCgroupsAndWhatRanInThem) {
  // modrt dies without its teardown; a grandchild that does not die with it is still inside.
  modrt::test::Background bg(background_argv(config("{memory.max: 64M}", "", "[mount]"),
                                             {"/bin/sh", "-c", "sleep 60 & sleep 60"}));
  auto pids_dir = container_cgroup_dir("memory", name_);
  ASSERT_TRUE(pids_dir);
  ASSERT_TRUE(modrt::test::wait_until([&] {
    std::string procs = slurp(*pids_dir + "/cgroup.procs");
    return std::count(procs.begin(), procs.end(), '\n') >= 3;
  }));
  bg.signal(SIGKILL);
  bg.wait(10s);
  ASSERT_TRUE(fs::exists(*pids_dir));
  Result gc = modrt.run({"gc"});
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  expect_no_cgroups_left();
}

// modrt SIGKILLed right after each journal event of a run in turn (the core's test hook), for
// every event of the run: after each, `modrt gc` must remove every cgroup the dead run made —
// killing, through the cgroup, the leftover it started — and nothing else. Every directory is
// recorded before its mkdir, so no kill point leaves a cgroup that no ledger names.
TEST_F(CgroupTest, KilledAtEveryJournalEventThenGcLeavesNoCgroup) {
  std::string cfg = config("{memory.max: 64M, pids.max: 32}", "", "[mount]");
  int killed = 0, with_cgroups = 0, leftovers = 0;
  for (int n = 1; n <= 200; ++n) {
    SCOPED_TRACE("killed at journal event " + std::to_string(n));
    ::setenv("MODRT_TEST_KILL_AT_EVENT", std::to_string(n).c_str(), 1);
    std::string sleep = leftover_sleep();
    Result r = run(cfg, {"/bin/sh", "-c", sleep + " & echo up"});
    ::unsetenv("MODRT_TEST_KILL_AT_EVENT");
    if (r.exit_code != 128 + SIGKILL) {
      EXPECT_EQ(r.exit_code, 0) << r.err;  // past the last event: a whole run
      break;
    }
    ++killed;
    bool any = false;
    for (const char* c : {"", "memory", "pids"})
      any = any || !container_cgroup_dirs(c, name_).empty();
    with_cgroups += any;
    Result gc = modrt.run({"gc"});
    EXPECT_EQ(gc.exit_code, 0) << gc.err;
    expect_no_cgroups_left();
    leftovers += r.out == "up\n";  // killed after the workload started its leftover
    EXPECT_FALSE(running(sleep)) << "the leftover survived gc";
  }
  std::printf("kill points: %d, with cgroups on the host when killed: %d, with a leftover: %d\n",
              killed, with_cgroups, leftovers);
  EXPECT_GT(killed, 3);
  EXPECT_GT(with_cgroups, 0);
}

// A rollback that cannot remove the container's cgroup (the test made a child cgroup in it, which
// rmdir refuses) says so naming it, and the run's state stays with that entry; once the obstacle
// is gone, `modrt gc` removes it and exits 0.
TEST_F(CgroupTest, ACgroupRollbackCannotRemoveIsNamedKeptAndRemovedByGcLater) {
  modrt::test::Background bg(
      background_argv(config("{pids.max: 16}", "", "[mount]"), {"/bin/sh", "-c", "sleep 1"}));
  auto v2 = container_cgroup_dir("", name_);
  ASSERT_TRUE(v2);
  std::string blocker = *v2 + "/held-by-test";
  ASSERT_EQ(::mkdir(blocker.c_str(), 0755), 0) << std::strerror(errno);
  struct Cleanup {
    std::string dir;
    ~Cleanup() { ::rmdir(dir.c_str()); }
  } cleanup{blocker};
  Result r = bg.wait(30s);
  EXPECT_THAT(r.err, HasSubstr("remove cgroup '" + *v2 + "'"));
  EXPECT_THAT(r.err, HasSubstr("cgroup entries left"));  // it and the modrt dir holding it
  EXPECT_TRUE(fs::is_directory(*v2));
  EXPECT_TRUE(fs::is_directory(modrt.state_root() / name_)) << "the state went with the entry";
  EXPECT_THAT(slurp(modrt.state_root() / name_ / "journal"), HasSubstr(*v2));
  // The other cgroups of the run were still removed.
  for (const char* c : {"memory", "pids"})
    EXPECT_TRUE(container_cgroup_dirs(c, name_).empty()) << c;

  Result still = modrt.run({"gc"});
  EXPECT_NE(still.exit_code, 0) << "gc cannot remove it either while the child is there";
  EXPECT_THAT(still.err, HasSubstr(*v2));

  ASSERT_EQ(::rmdir(blocker.c_str()), 0) << std::strerror(errno);
  Result gc = modrt.run({"gc"});
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  expect_no_cgroups_left();
  EXPECT_FALSE(fs::exists(modrt.state_root() / name_));
}

// The whole stack the bench runs: the workload is busybox from the test rootfs, whose dd really
// allocates its block size of anonymous memory.
TEST_F(CgroupTest, BusyboxRootfsWithNsFsCgroupOomIs137) {
  if (!fs::exists(modrt::test::plugin_dir() + "/modrt_fs.so"))
    GTEST_SKIP() << "the fs plugin is not built";
  std::string fs_stage =
      "  - plugin: fs\n    with: {rootfs: " + modrt::test::busybox_rootfs() + ", readonly: true}\n";
  std::string cfg = dir.write(name_ + ".yaml",
                              "name: " + name_ +
                                  "\nprocess:\n  args: [/bin/true]\n  env: [PATH=/bin]\n"
                                  "stages:\n  - plugin: ns\n    with: {namespaces: [pid, mount, "
                                  "ipc, uts]}\n" +
                                  fs_stage + "  - plugin: cgroup\n    with: {memory.max: 32M}\n");
  Result big = run(cfg, {"/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"});
  EXPECT_EQ(big.exit_code, 137) << big.err;
  EXPECT_THAT(big.err, HasSubstr("OOM killer"));
  Result small = run(cfg, {"/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=8M", "count=1"});
  EXPECT_EQ(small.exit_code, 0) << small.err;
  expect_no_cgroups_left();
}

class FailureInALaterStage : public CgroupTest,
                             public ::testing::WithParamInterface<const char*> {};

TEST_P(FailureInALaterStage, LeavesNoCgroupAndNoProcess) {
  std::string fault = "  - plugin: fault1\n    with: {fail_at: " + std::string(GetParam()) + "}\n";
  Result r = run(config("{memory.max: 32M, pids.max: 16}", fault), {"/bin/sleep", "60"});
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_THAT(r.err, HasSubstr("on purpose"));
  expect_no_cgroups_left();
}

INSTANTIATE_TEST_SUITE_P(Phases, FailureInALaterStage,
                         ::testing::Values("prepare", "apply_host", "apply_workload"));

TEST_F(CgroupTest, StatsOfARunningContainer) {
  modrt::test::Background bg(
      background_argv(config("{memory.max: 64M}"), {kWorkload, "fork", "3", "3"}));
  auto pids = container_cgroup_dir("pids", name_);
  ASSERT_TRUE(pids);
  ASSERT_TRUE(modrt::test::wait_until([&] { return slurp(*pids + "/pids.current") == "4\n"; }));
  Result s = modrt.run({"stats", name_});
  EXPECT_EQ(s.exit_code, 0) << s.err;
  EXPECT_THAT(s.out, HasSubstr("cgroup.pids.current: 4"));
  EXPECT_THAT(s.out, HasSubstr("cgroup.memory.current: "));
  EXPECT_THAT(s.out, HasSubstr("cgroup.memory.peak: "));
  EXPECT_THAT(s.out, HasSubstr("cgroup.cpu.usage_usec: "));
  EXPECT_EQ(bg.wait(30s).exit_code, 0);
}

// Bad input never touches the host: `modrt validate` refuses it with the key and a reason.
struct BadInput {
  const char* with;
  const char* message;
};
class BadInputAtValidate : public CgroupTest, public ::testing::WithParamInterface<BadInput> {};

TEST_P(BadInputAtValidate, IsAConfigError) {
  Result r = modrt.run({"validate", "-c", config(GetParam().with)});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr(GetParam().message));
  EXPECT_THAT(r.err, HasSubstr(name_ + ".yaml:"));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadInputAtValidate,
    ::testing::Values(BadInput{"{memory.maxx: 64M}", "memory.max"},
                      BadInput{"{memory.max: 64MB5}", "not a size"},
                      BadInput{"{cpuset.cpus: '0-4095'}", "is not online on this host"},
                      BadInput{"{driver: v2, memory.max: 64M}", "driver v2"},
                      BadInput{"{io.weight: 100, driver: v2}", "needs the io controller"},
                      BadInput{"{cpu.max: 'fast'}", "not a CPU share"}));

}  // namespace
}  // namespace modrt::cgroup::test
