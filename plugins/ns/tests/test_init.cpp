// `init: true`: a tiny init as PID 1 reaps orphans and passes SIGTERM to the whole tree. Beside
// it, the same workload without init keeps a zombie, which shows the test can see one.
#include <signal.h>

#include <algorithm>
#include <filesystem>

#include "ns_test.hpp"

namespace modrt::test::ns {
namespace {

using NsInitTest = HostLeakTest;

// The pid namespace of modrt's workload, once it exists.
std::string workload_pid_ns(pid_t modrt_pid) {
  std::string link;
  wait_until([&] {
    auto kids = children_of(modrt_pid);
    if (kids.empty()) return false;
    link = ns_link("/proc/" + std::to_string(kids[0]) + "/ns/pid");
    return !link.empty() && link != host_ns("pid");
  });
  return link;
}

bool has_zombie(const std::vector<ProcInfo>& procs) {
  return std::any_of(procs.begin(), procs.end(), [](const ProcInfo& p) { return p.state == 'Z'; });
}

// The orphan is forked by a subshell that exits at once, so it is reparented to PID 1. Its short
// sleep lets it outlive the shell's own waitpid(-1), which would otherwise reap it before the
// exec; `sleep 1000` as PID 1 then never reaps it.
const std::string kOrphanMaker = "(sleep 0.2 &); exec sleep 1000";

TEST_F(NsInitTest, InitReapsAnOrphanedGrandchild) {
  std::string cfg = dir.write(
      "c.yaml", config(unique_name("ns"), kOrphanMaker, "{namespaces: [pid, mount], init: true}"));
  Background run(modrt.argv({"run", "-c", cfg}));
  std::string pid_ns = workload_pid_ns(run.pid());
  ASSERT_FALSE(pid_ns.empty());
  // init + sleep, and no zombie: the orphan came and went.
  EXPECT_TRUE(wait_until([&] {
    auto procs = processes_in(pid_ns);
    bool sleeping = std::any_of(procs.begin(), procs.end(),
                                [](const ProcInfo& p) { return p.comm == "sleep"; });
    return sleeping && procs.size() == 2 && !has_zombie(procs);
  })) << "processes of the container: "
      << processes_in(pid_ns).size();
  run.signal(SIGTERM);
  Result r = run.wait();
  EXPECT_EQ(r.exit_code, 128 + SIGTERM) << r.err;
  EXPECT_TRUE(processes_in(pid_ns).empty());
}

TEST_F(NsInitTest, WithoutInitTheOrphanStaysAZombie) {
  std::string cfg =
      dir.write("c.yaml", config(unique_name("ns"), kOrphanMaker, "{namespaces: [pid, mount]}"));
  Background run(modrt.argv({"run", "-c", cfg}));
  std::string pid_ns = workload_pid_ns(run.pid());
  ASSERT_FALSE(pid_ns.empty());
  EXPECT_TRUE(wait_until([&] { return has_zombie(processes_in(pid_ns)); }));
  // A PID 1 without a handler ignores SIGTERM; SIGKILL it, so modrt still ends its run itself.
  auto kids = children_of(run.pid());
  ASSERT_FALSE(kids.empty());
  ::kill(kids[0], SIGKILL);
  EXPECT_EQ(run.wait().exit_code, 128 + SIGKILL);
  EXPECT_TRUE(wait_until([&] { return processes_in(pid_ns).empty(); }));
}

TEST_F(NsInitTest, SigtermToModrtReachesTheWholeTree) {
  // The shell traps TERM and then waits for its background child: it finishes only if that
  // child got TERM as well, and reports how it ended. The workload shares the host's files (no
  // fs stage), so it tells the test through a file that the trap is in place.
  std::string ready = (dir / "ready").string();
  std::string cfg = dir.write("c.yaml", config(unique_name("ns"),
                                               "trap 'wait $child; echo child=$?; exit 3' TERM; "
                                               "sleep 1000 & child=$!; "
                                               "touch " +
                                                   ready + "; wait",
                                               "{namespaces: [pid, mount], init: true}"));
  Background run(modrt.argv({"run", "-c", cfg}));
  std::string pid_ns = workload_pid_ns(run.pid());
  ASSERT_FALSE(pid_ns.empty());
  ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(ready); }));
  run.signal(SIGTERM);
  Result r = run.wait();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.out.find("child=" + std::to_string(128 + SIGTERM)), std::string::npos) << r.out;
  EXPECT_TRUE(processes_in(pid_ns).empty());
}

}  // namespace
}  // namespace modrt::test::ns
