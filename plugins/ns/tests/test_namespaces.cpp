// The workload's view from inside: hostname, PID 1, id maps, identity, and which namespaces it
// shares with the host.
#include <signal.h>

#include <fstream>

#include "ns_test.hpp"

namespace modrt::test::ns {
namespace {

using NsTest = HostLeakTest;

// Prints one "kind=<readlink>" line per namespace kind.
const std::string kPrintNamespaces =
    "for k in user pid mnt uts ipc net cgroup time; do echo $k=$(readlink /proc/self/ns/$k); done";

TEST_F(NsTest, HostnameDomainnamePid1AndMaps) {
  std::string name = unique_name("ns");
  std::string cfg = dir.write(
      "c.yaml", config(name,
                       "echo pid=$$; echo host=$(hostname); echo domain=$(domainname); "
                       "echo uid_map=$(awk '{print $1\":\"$2\":\"$3}' /proc/self/uid_map); "
                       "echo gid_map=$(awk '{print $1\":\"$2\":\"$3}' /proc/self/gid_map)",
                       "{uid_map: [{container: 0, host: 100000, size: 65536}], "
                       "gid_map: [{container: 0, host: 200000, size: 1000}, "
                       "{container: 1000, host: 1000, size: 1}], domainname: example.test}",
                       "hostname: box\n"));
  Result r = modrt.run({"run", "-c", cfg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = values(r.out);
  EXPECT_EQ(v["pid"], "1");
  EXPECT_EQ(v["host"], "box");
  EXPECT_EQ(v["domain"], "example.test");
  EXPECT_EQ(v["uid_map"], "0:100000:65536");
  EXPECT_EQ(v["gid_map"], "0:200000:1000 1000:1000:1");
}

TEST_F(NsTest, StageHostnameOverridesTheConfigs) {
  std::string cfg = dir.write(
      "c.yaml", config(unique_name("ns"), "hostname", "{hostname: inner}", "hostname: outer\n"));
  Result r = modrt.run({"run", "-c", cfg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "inner\n");
}

TEST_F(NsTest, IdShowsTheConfiguredUser) {
  std::string cfg =
      dir.write("c.yaml", config(unique_name("ns"),
                                 "echo uid=$(id -u); echo gid=$(id -g); echo groups=$(id -G)",
                                 "{uid_map: [{container: 0, host: 100000, size: 65536}], "
                                 "gid_map: [{container: 0, host: 100000, size: 65536}]}",
                                 "", "{uid: 1000, gid: 1001, additional_gids: [1002, 1003]}"));
  Result r = modrt.run({"run", "-c", cfg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = values(r.out);
  EXPECT_EQ(v["uid"], "1000");
  EXPECT_EQ(v["gid"], "1001");
  EXPECT_EQ(v["groups"], "1001 1002 1003");
}

TEST_F(NsTest, UnmappedUserIsRefusedBeforeAnythingRuns) {
  std::string cfg =
      dir.write("c.yaml", config(unique_name("ns"), "id",
                                 "{uid_map: [{container: 0, host: 100000, size: 10}]}", "",
                                 "{uid: 1000, gid: 0}"));
  Result r = modrt.run({"run", "-c", cfg});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("process.user.uid 1000 is not mapped by uid_map"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.out, "");
}

struct NamespaceCase {
  std::string list;               // the `namespaces:` value
  std::set<std::string> enabled;  // /proc/self/ns names that must differ from the host's
};

void PrintTo(const NamespaceCase& c, std::ostream* os) {
  *os << c.list;
}

class NamespaceSelection : public HostLeakTest,
                           public ::testing::WithParamInterface<NamespaceCase> {};

TEST_P(NamespaceSelection, DiffersFromTheHostExactlyWhereEnabled) {
  const NamespaceCase& c = GetParam();
  std::string cfg = dir.write(
      "c.yaml", config(unique_name("ns"), kPrintNamespaces, "{namespaces: " + c.list + "}"));
  Result r = modrt.run({"run", "-c", cfg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = values(r.out);
  for (const auto& kind : kKinds) {
    ASSERT_FALSE(v[kind].empty()) << "no " << kind << " line in: " << r.out;
    if (c.enabled.count(kind))
      EXPECT_NE(v[kind], host_ns(kind)) << kind << " should be new with " << c.list;
    else
      EXPECT_EQ(v[kind], host_ns(kind)) << kind << " should be the host's with " << c.list;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Ns, NamespaceSelection,
    ::testing::Values(NamespaceCase{"[user, pid, mount, uts, ipc, net, cgroup, time]",
                                    {"user", "pid", "mnt", "uts", "ipc", "net", "cgroup", "time"}},
                      NamespaceCase{"[user, pid, mount, uts, ipc, net, cgroup]",
                                    {"user", "pid", "mnt", "uts", "ipc", "net", "cgroup"}},
                      NamespaceCase{"[pid, net]", {"pid", "net"}},
                      NamespaceCase{"[user, uts, ipc, time]", {"user", "uts", "ipc", "time"}},
                      NamespaceCase{"[mount, cgroup]", {"mnt", "cgroup"}}, NamespaceCase{"[]", {}}),
    [](const auto& info) {
      std::string name;
      for (const auto& kind : kKinds)
        if (info.param.enabled.count(kind)) name += (name.empty() ? "" : "_") + kind;
      return name.empty() ? std::string("none") : name;
    });

double uptime() {
  std::ifstream in("/proc/uptime");
  double seconds = 0;
  in >> seconds;
  return seconds;
}

TEST_F(NsTest, TimeOffsetsShiftTheClocksInside) {
  std::string cfg = dir.write(
      "c.yaml", config(unique_name("ns"),
                       "echo uptime=$(cut -d\" \" -f1 /proc/uptime); "
                       "echo offsets=$(cat /proc/self/timens_offsets | tr -s \" \\n\" \"  \")",
                       "{time_offsets: {boottime: 100000s, monotonic: -2500ms}}"));
  double before = uptime();
  Result r = modrt.run({"run", "-c", cfg});
  double after = uptime();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = values(r.out);
  double inside = std::stod(v["uptime"]);
  EXPECT_GE(inside, before + 100000);
  EXPECT_LE(inside, after + 100000);
  EXPECT_EQ(v["offsets"], "monotonic -3 500000000 boottime 100000 0");
}

TEST_F(NsTest, ImpossibleTimeOffsetFailsTheRunAndLeavesNothing) {
  // A monotonic clock before boot: the kernel refuses the offset inside the workload, after the
  // stage's host phases ran; the run must still end cleanly with 125.
  std::string cfg = dir.write(
      "c.yaml", config(unique_name("ns"), "echo ran", "{time_offsets: {monotonic: -1000000h}}"));
  Result r = modrt.run({"run", "-c", cfg});
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_NE(r.err.find("set the time namespace offsets"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace modrt::test::ns

namespace modrt::test::ns {
namespace {

TEST_F(NsTest, StatsShowWhichNamespacesAreTheHosts) {
  std::string name = unique_name("ns");
  std::string cfg =
      dir.write("c.yaml", config(name, "exec sleep 1000", "{namespaces: [pid, uts]}"));
  Background running(modrt.argv({"run", "-c", cfg}));
  Result stats;
  ASSERT_TRUE(wait_until([&] {
    stats = modrt.run({"stats", name});
    return stats.exit_code == 0 && stats.out.find("ns.pid:") != std::string::npos;
  })) << stats.err;
  auto kids = children_of(running.pid());
  ASSERT_FALSE(kids.empty());
  std::string proc = "/proc/" + std::to_string(kids[0]) + "/ns/";
  EXPECT_NE(stats.out.find("ns.pid: " + ns_link(proc + "pid") + "\n"), std::string::npos)
      << stats.out;
  EXPECT_NE(stats.out.find("ns.uts: " + ns_link(proc + "uts") + "\n"), std::string::npos)
      << stats.out;
  EXPECT_NE(stats.out.find("ns.net: " + host_ns("net") + " (host)\n"), std::string::npos)
      << stats.out;
  ::kill(kids[0], SIGKILL);
  EXPECT_EQ(running.wait().exit_code, 128 + SIGKILL);
}

}  // namespace
}  // namespace modrt::test::ns
