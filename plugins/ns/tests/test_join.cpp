// Joining existing namespaces by path: a bind-mounted net namespace file, /proc/PID/ns links of
// another process, a user namespace together with namespaces it owns, a pid namespace.
#include "ns_test.hpp"

namespace modrt::test::ns {
namespace {

using NsJoinTest = HostLeakTest;

const std::string kPrintNamespaces =
    "echo pid1=$$; for k in user pid mnt uts ipc net cgroup time; do "
    "echo $k=$(readlink /proc/self/ns/$k); done; "
    "echo uid_map=$(awk '{print $1\":\"$2\":\"$3}' /proc/self/uid_map); echo host=$(hostname)";

// A process started in namespaces of its own by util-linux unshare; killed with the test.
class Unshared {
 public:
  explicit Unshared(std::vector<std::string> options)
      : bg_([&] {
          std::vector<std::string> argv{"unshare"};
          argv.insert(argv.end(), options.begin(), options.end());
          argv.insert(argv.end(), {"sleep", "1000"});
          return argv;
        }()) {}
  // The sleep process itself: with --fork it is unshare's child.
  pid_t sleeper(bool forked) const {
    pid_t pid = bg_.pid();
    if (forked) {
      EXPECT_TRUE(wait_until([&] { return !children_of(bg_.pid()).empty(); }));
      pid = children_of(bg_.pid()).at(0);
    }
    // unshare has set up its namespaces once the process runs sleep.
    EXPECT_TRUE(wait_until([&] { return comm(pid) == "sleep"; }));
    return pid;
  }

 private:
  static std::string comm(pid_t pid) {
    auto procs = std::to_string(pid);
    Result r = run({"cat", "/proc/" + procs + "/comm"});
    return r.out.empty() ? "" : r.out.substr(0, r.out.size() - 1);
  }
  Background bg_;
};

TEST_F(NsJoinTest, JoinsABindMountedNetNamespace) {
  // A namespace file bound onto a path (what `ip netns add` does) outlives its processes.
  Unshared target({"--net"});
  pid_t pid = target.sleeper(false);
  std::string link = ns_link("/proc/" + std::to_string(pid) + "/ns/net");
  std::string path = dir.write("netns", "");
  ASSERT_EQ(run({"mount", "--bind", "/proc/" + std::to_string(pid) + "/ns/net", path}).exit_code,
            0);
  std::string cfg =
      dir.write("c.yaml", config(unique_name("ns"), kPrintNamespaces,
                                 "{namespaces: [pid, mount, uts], join: {net: " + path + "}}"));
  Result r = modrt.run({"run", "-c", cfg});
  EXPECT_EQ(run({"umount", path}).exit_code, 0);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = values(r.out);
  EXPECT_EQ(v["net"], link);
  EXPECT_NE(v["net"], host_ns("net"));
  EXPECT_NE(v["pid"], host_ns("pid"));
  EXPECT_EQ(v["user"], host_ns("user"));
}

TEST_F(NsJoinTest, JoinsAUserNamespaceAndANamespaceItOwns) {
  Unshared target({"--user", "--map-root-user", "--net"});
  pid_t pid = target.sleeper(false);
  std::string proc = "/proc/" + std::to_string(pid);
  std::string cfg = dir.write(
      "c.yaml", config(unique_name("ns"), kPrintNamespaces,
                       "{namespaces: [mount, uts, ipc], hostname: joined, join: {net: " + proc +
                           "/ns/net, user: " + proc + "/ns/user}}"));
  Result r = modrt.run({"run", "-c", cfg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = values(r.out);
  EXPECT_EQ(v["user"], ns_link(proc + "/ns/user"));
  EXPECT_EQ(v["net"], ns_link(proc + "/ns/net"));
  EXPECT_EQ(v["uid_map"], map_of(proc + "/uid_map"));
  // Created after joining the user namespace, so they belong to it: sethostname worked.
  EXPECT_NE(v["mnt"], host_ns("mnt"));
  EXPECT_NE(v["uts"], host_ns("uts"));
  EXPECT_NE(v["uts"], ns_link(proc + "/ns/uts"));
  EXPECT_EQ(v["host"], "joined");
}

TEST_F(NsJoinTest, JoinsAPidNamespace) {
  // --kill-child: the forked sleeper must die with unshare, which the test kills.
  Unshared target({"--pid", "--fork", "--kill-child"});
  pid_t pid = target.sleeper(true);
  std::string link = ns_link("/proc/" + std::to_string(pid) + "/ns/pid");
  ASSERT_NE(link, host_ns("pid"));
  std::string cfg = dir.write("c.yaml", config(unique_name("ns"), kPrintNamespaces,
                                               "{namespaces: [mount], join: {pid: /proc/" +
                                                   std::to_string(pid) + "/ns/pid}}"));
  Result r = modrt.run({"run", "-c", cfg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = values(r.out);
  EXPECT_EQ(v["pid"], link);
  EXPECT_NE(v["pid1"], "1");  // the namespace's PID 1 is the sleeper
  // modrt itself went back to its own pid namespace for what it starts after the workload.
  EXPECT_EQ(ns_link("/proc/self/ns/pid_for_children"), host_ns("pid"));
}

TEST_F(NsJoinTest, AJoinedNamespaceThatVanishedFailsTheRun) {
  pid_t gone;
  {
    Unshared target({"--net"});
    gone = target.sleeper(false);
  }
  std::string cfg = dir.write(
      "c.yaml", config(unique_name("ns"), "echo ran",
                       "{namespaces: [], join: {net: /proc/" + std::to_string(gone) + "/ns/net}}"));
  Result r = modrt.run({"run", "-c", cfg});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("join.net: open '/proc/" + std::to_string(gone) + "/ns/net'"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace modrt::test::ns
