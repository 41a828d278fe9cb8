// The state root is the one tree modrt removes from, and names in it come from users: removal
// must stay inside dirs modrt made, gc must never harm what it did not make (a file, a foreign dir,
// a process that reused a pid), and a workload must not outlive its modrt. Every victim here is a
// file or process the test made itself.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "modrt_test.hpp"

namespace modrt::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Files (with contents) below a dir: what a victim must still hold after each attack.
std::string listing(const fs::path& root) {
  std::string out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    out += e.path().lexically_relative(root).string() + "=" +
           (e.is_regular_file() ? slurp(e.path()) : std::string("<dir>")) + "\n";
  return out;
}

// Pids of live processes whose command line holds `token` (the test's own workloads).
std::vector<pid_t> processes_with(const std::string& token) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = slurp(e.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(token) != std::string::npos) out.push_back(std::stoi(name));
  }
  return out;
}

class StateTest : public HostLeakTest {
 protected:
  void SetUp() override {
    HostLeakTest::SetUp();
    victim_ = dir / "victim";
    fs::create_directories(victim_ / "sub");
    dir.write("victim/precious", "keep me");
    dir.write("victim/sub/also", "and me");
    before_ = listing(victim_);
    fs::create_directories(modrt.state_root());
  }
  void TearDown() override {
    EXPECT_EQ(listing(victim_), before_) << "the victim dir changed";
    HostLeakTest::TearDown();
  }

  std::string fault_config(const std::string& name, const std::string& process_extra = "") {
    return dir.write(name + ".yaml", "name: " + name + "\nprocess: {args: [/bin/true]" +
                                         process_extra +
                                         "}\nstages:\n  - plugin: fault1\n    with: {log: " +
                                         (dir / "calls.log").string() + "}\n");
  }

  // A run that modrt left behind: started, then modrt SIGKILLed (its workload dies with it).
  void make_dead_run(const std::string& name) {
    std::string cfg = fault_config(name);
    Background run(modrt.argv(
        {"run", "-c", cfg, "--", "/bin/sh", "-c", "echo ready; while :; do sleep 0.05; done"}));
    ASSERT_TRUE(wait_until([&] { return run.output() == "ready\n"; }));
    run.signal(SIGKILL);
    run.wait();
    ASSERT_TRUE(fs::exists(modrt.state_root() / name / "state.json"));
  }

  fs::path victim_;
  std::string before_;
};

TEST_F(StateTest, NamesThatArePathsAreRefusedByEveryCommand) {
  // The victim sits beside the state root, where `R/../victim` and an absolute path point.
  fs::path root = dir / "root";
  fs::create_directories(root);
  for (const std::string& bad :
       {std::string("../victim"), victim_.string(), std::string("victim/.."), std::string(".."),
        std::string("."), std::string(""), std::string("-rf"), std::string("a/b")}) {
    for (const std::string verb : {"delete", "stats"}) {
      Result r = test::run({modrt_binary(), "--root", root.string(), verb, bad});
      EXPECT_EQ(r.exit_code, 2) << verb << " '" << bad << "': " << r.err;
      if (!bad.empty() && bad != "-rf") {
        EXPECT_THAT(r.err, HasSubstr("is not a valid container name")) << verb << " " << bad;
      }
    }
  }
  EXPECT_TRUE(fs::exists(root));
}

TEST_F(StateTest, ADirModrtDidNotMakeIsNeverRemoved) {
  fs::path root = modrt.state_root();
  // A foreign dir with files, one with a state.json that lacks modrt's marker, and a symlink to
  // the victim: none of them is a run.
  fs::create_directories(root / "foreign");
  std::ofstream(root / "foreign" / "data") << "foreign";
  fs::create_directories(root / "fake");
  std::ofstream(root / "fake" / "state.json") << R"({"version": 1, "name": "fake"})";
  fs::create_directory_symlink(victim_, root / "link");

  Result del = modrt.run({"delete", "foreign"});
  EXPECT_EQ(del.exit_code, 125);
  EXPECT_THAT(del.err, HasSubstr("not a state dir of modrt"));
  del = modrt.run({"delete", "fake"});
  EXPECT_EQ(del.exit_code, 125);
  EXPECT_THAT(del.err, HasSubstr("no marker"));
  del = modrt.run({"delete", "link"});
  EXPECT_EQ(del.exit_code, 125);
  EXPECT_THAT(del.err, HasSubstr("no container named 'link'"));
  Result gc = modrt.run({"gc"});
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_THAT(gc.out, HasSubstr("nothing to collect"));
  EXPECT_EQ(modrt.run({"list"}).out, "");

  EXPECT_EQ(slurp(root / "foreign" / "data"), "foreign");
  EXPECT_TRUE(fs::exists(root / "fake" / "state.json"));
  EXPECT_TRUE(fs::is_symlink(root / "link"));
  fs::remove_all(root / "foreign");
  fs::remove_all(root / "fake");
  fs::remove(root / "link");
}

TEST_F(StateTest, RemovalNeverFollowsASymlinkNorCrossesAMount) {
  std::string name = unique_name("mnt");
  make_dead_run(name);
  fs::path state = modrt.state_root() / name;
  fs::create_directory_symlink(victim_, state / "escape");
  fs::create_directories(state / "mounted");
  // The mount exists only in a throwaway mount namespace, which goes away with the command.
  std::string script = "mount --make-rprivate / && mount --bind " + victim_.string() + " " +
                       (state / "mounted").string() + " && exec \"$@\"";
  std::vector<std::string> argv{"unshare", "-m", "sh", "-c", script, "sh"};
  for (const auto& a : modrt.argv({"gc"})) argv.push_back(a);
  Result gc = test::run(argv);
  EXPECT_EQ(gc.exit_code, 125) << gc.out << gc.err;
  EXPECT_THAT(gc.err, HasSubstr("mounted: a mount point (left alone)"));
  // The dead run was rolled back and its state stays for a later gc, marker included.
  EXPECT_TRUE(fs::exists(state / "state.json"));
  EXPECT_FALSE(fs::exists(state / "escape"));
  gc = modrt.run({"gc"});
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_FALSE(fs::exists(state));
}

TEST_F(StateTest, HalfMadeDirsDoNotStopGc) {
  fs::path root = modrt.state_root();
  std::string dead = unique_name("after");
  make_dead_run(dead);
  // Left by SIGKILLs inside StateDir::create: one torn, one empty, one holding what modrt never
  // writes there (left alone).
  fs::create_directories(root / ".new-torn.4242");
  std::ofstream(root / ".new-torn.4242" / "state.json") << "{\"version\": 1, \"na";
  fs::create_directories(root / ".new-empty.4243");
  fs::create_directories(root / ".new-odd.4244");
  std::ofstream(root / ".new-odd.4244" / "notes") << "mine";

  Result gc = modrt.run({"gc"});
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_THAT(gc.out, HasSubstr("removed .new-torn.4242"));
  EXPECT_THAT(gc.out, HasSubstr("removed .new-empty.4243"));
  EXPECT_THAT(gc.out, HasSubstr("removed " + dead));
  EXPECT_FALSE(fs::exists(root / ".new-torn.4242"));
  EXPECT_FALSE(fs::exists(root / dead));
  EXPECT_EQ(slurp(root / ".new-odd.4244" / "notes"), "mine");
  fs::remove_all(root / ".new-odd.4244");
}

TEST_F(StateTest, GcNeverKillsAProcessThatReusedTheWorkloadsPid) {
  std::string name = unique_name("pid");
  make_dead_run(name);
  fs::path journal = modrt.state_root() / name / "journal";
  // A stranger now holds the pid the journal names: once with another start time, once as an
  // old journal without one. Neither is the dead run's workload.
  Background stranger({"sleep", "600"});
  for (const std::string& line :
       {"{\"workload_pid\":" + std::to_string(stranger.pid()) + ",\"workload_start_time\":1}\n",
        "{\"workload_pid\":" + std::to_string(stranger.pid()) + "}\n"}) {
    std::ofstream(journal, std::ios::app) << line;
    Result gc = modrt.run({"gc"});
    EXPECT_EQ(gc.exit_code, 0) << gc.err;
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(::kill(stranger.pid(), 0), 0) << "gc killed a process it did not start";
    if (!fs::exists(journal)) make_dead_run(name);
  }
  // The control: named with its real start time, the same process is the workload, and goes.
  std::string stat = slurp("/proc/" + std::to_string(stranger.pid()) + "/stat");
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field, start_time;
  for (int i = 3; fields >> field; ++i)
    if (i == 22) start_time = field;
  std::ofstream(journal, std::ios::app) << "{\"workload_pid\":" << stranger.pid()
                                        << ",\"workload_start_time\":" << start_time << "}\n";
  EXPECT_EQ(modrt.run({"gc"}).exit_code, 0);
  EXPECT_EQ(stranger.wait(5s).exit_code, 128 + SIGKILL);
}

// The kernel clears the parent-death signal at every credential change; a workload that changed
// user (switch_user, or the fs stage becoming the user namespace's root) must still die with a
// SIGKILLed modrt, whenever the kill lands.
class WorkloadDiesWithModrt : public StateTest,
                              public ::testing::WithParamInterface<const char*> {};

TEST_P(WorkloadDiesWithModrt, WheneverModrtIsKilled) {
  std::string name = unique_name("orphan");
  std::string kind = GetParam();
  std::string stages;
  std::string process = "user: {uid: 1000, gid: 1000}";
  if (kind == std::string("user")) {
    stages = "  - plugin: fault1\n";
  } else if (kind == std::string("init")) {
    stages = "  - plugin: ns\n    with: {namespaces: [mount], init: true}\n";
  } else {  // userns: credentials change inside a user namespace; the workload is its PID 1
    stages =
        "  - plugin: ns\n    with: {namespaces: [user, pid, mount, uts, ipc],"
        " uid_map: [{container: 0, host: 100000, size: 65536}],"
        " gid_map: [{container: 0, host: 100000, size: 65536}]}\n"
        "  - plugin: fs\n    with: {rootfs: " +
        busybox_rootfs() + ", readonly: true}\n";
  }
  std::string token = std::to_string(800000 + ::getpid() % 100000);
  std::string cfg = dir.write("orphan.yaml", "name: " + name + "\nprocess: {args: [sleep, " +
                                                 token + "], " + process + "}\nstages:\n" + stages);
  std::mt19937 random(static_cast<unsigned>(::getpid()));
  int started = 0;
  for (int i = 0; i < 12; ++i) {
    Background run(modrt.argv({"run", "-c", cfg}));
    // Spread the kills over setup and the running workload; the last ones always after the exec.
    auto delay = i < 8 ? std::chrono::milliseconds(random() % 60) : 300ms;
    std::this_thread::sleep_for(delay);
    if (!processes_with("sleep " + token).empty()) ++started;
    run.signal(SIGKILL);
    run.wait();
    bool gone = wait_until([&] { return processes_with("sleep " + token).empty(); }, 3s);
    EXPECT_TRUE(gone) << "the workload outlived modrt (kill " << i << " after " << delay.count()
                      << " ms)";
    for (pid_t pid : processes_with("sleep " + token)) ::kill(pid, SIGKILL);
    Result gc = modrt.run({"gc"});
    EXPECT_EQ(gc.exit_code, 0) << gc.err;
  }
  EXPECT_GE(started, 4) << "too few kills landed after the workload started to prove anything";
}

INSTANTIATE_TEST_SUITE_P(Credentials, WorkloadDiesWithModrt,
                         ::testing::Values("user", "init", "userns"));

TEST_F(StateTest, ADeadRunThatJoinedANamespaceNowGoneIsStillCollected) {
  // The ns stage records nothing; its config (a join path) no longer fits the host once the joined
  // namespace's owner is gone. gc must not need it.
  std::string name = unique_name("joined");
  Background owner({"unshare", "--net", "sleep", "600"});
  fs::path netns = "/proc/" + std::to_string(owner.pid()) + "/ns/net";
  ASSERT_TRUE(
      wait_until([&] { return fs::read_symlink(netns) != fs::read_symlink("/proc/self/ns/net"); }));
  std::string cfg = dir.write(
      name + ".yaml", "name: " + name +
                          "\nprocess: {args: [/bin/true]}\nstages:\n  - plugin: ns\n    with: "
                          "{namespaces: [mount], join: {net: " +
                          netns.string() + "}}\n  - plugin: fault1\n    with: {log: " +
                          (dir / "calls.log").string() + "}\n");
  Background run(modrt.argv(
      {"run", "-c", cfg, "--", "/bin/sh", "-c", "echo ready; while :; do sleep 0.05; done"}));
  ASSERT_TRUE(wait_until([&] { return run.output() == "ready\n"; }));
  run.signal(SIGKILL);
  run.wait();
  owner.signal(SIGKILL);
  owner.wait();
  Result gc = modrt.run({"gc"});
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_THAT(gc.out, HasSubstr("removed " + name));
  EXPECT_THAT(slurp(dir / "calls.log"), HasSubstr("fault1 rollback\n"));
}

TEST_F(StateTest, AnEmptyNameIsNotTheConfigsName) {
  Result r = modrt.run({"run", "-c", fault_config(unique_name("n")), "--name", ""});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--name: '' is not a valid container name"));
}

}  // namespace
}  // namespace modrt::test
