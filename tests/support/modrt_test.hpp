// Helpers the integration tests share: run modrt (or any command) as a real process, write configs
// into a private folder, and prove that a test left nothing of its own on the host.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace modrt::test {

struct Result {
  int exit_code = -1;  // 128+N when killed by signal N; -1 if it could not start
  std::string out;
  std::string err;
};

// Runs argv to completion (SIGKILL after timeout) with `input` on stdin, capturing stdout/stderr.
Result run(const std::vector<std::string>& argv,
           std::chrono::seconds timeout = std::chrono::seconds(60), const std::string& input = "");

// A process started in the background, stdout/stderr to files; the destructor kills it (by PID).
class Background {
 public:
  explicit Background(const std::vector<std::string>& argv);
  ~Background();
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  pid_t pid() const { return pid_; }
  // What it wrote to stdout so far.
  std::string output() const;
  // Sends sig to the process itself.
  void signal(int sig) const;
  // Waits for exit (SIGKILL after timeout), then returns exit code and output.
  Result wait(std::chrono::seconds timeout = std::chrono::seconds(30));

 private:
  pid_t pid_ = -1;
  std::filesystem::path out_, err_;
  bool reaped_ = false;
};

// Polls cond every 10 ms until it holds or timeout passes.
bool wait_until(const std::function<bool()>& cond,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

std::string modrt_binary();     // build/bin/modrt
std::string plugin_dir();       // build/lib/modrt: the real plugins
std::string test_plugin_dir();  // build/lib/modrt-test: fault & co.
std::string busybox_rootfs();   // build/rootfs: made by scripts/make-rootfs.sh
std::string source_dir();

// SO_NETNS_COOKIE of the network namespace /run/netns/<name>: unique, never reused (the net
// plugin keys its host-wide state by it). Fails the test when it cannot be read.
uint64_t netns_cookie_of(const std::string& netns);

// A unique prefix for this test process: names of containers, links, cgroups made by a test.
std::string unique_name(const std::string& stem);

// A private folder under /tmp that is removed (recursively, never across mounts) at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  // Writes content to path()/name and returns the full path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::filesystem::path path_;
};

// Runs modrt with a state root private to this test (--root), so tests never meet each other's or a
// user's containers. args follow the modrt binary, e.g. {"run", "-c", cfg, "--", "/bin/true"}.
class Modrt {
 public:
  Modrt();
  ~Modrt();
  Result run(const std::vector<std::string>& args,
             std::chrono::seconds timeout = std::chrono::seconds(60),
             const std::string& input = "") const;
  std::vector<std::string> argv(const std::vector<std::string>& args) const;
  const std::filesystem::path& state_root() const { return root_; }

 private:
  std::filesystem::path root_;
};

// What the host looks like from this test's point of view: mounts, cgroup dirs under the cgroups
// this process runs in, network links of the current netns, and nftables tables.
struct HostSnapshot {
  std::multiset<std::string> mounts;  // "mountpoint fstype source" per line of mountinfo
  std::set<std::string> cgroups;      // directories below our own cgroup, every hierarchy
  std::set<std::string> links;        // interface names
  std::set<std::string> nft_tables;   // "family name"
  static HostSnapshot take();
};

// Lists what differs between two snapshots, one line per leaked or vanished resource.
std::vector<std::string> diff(const HostSnapshot& before, const HostSnapshot& after);

// Base fixture: snapshots the host in SetUp and fails the test in TearDown when anything of the
// host differs (a leaked mount, cgroup, link, nft table, or a state dir left in the test's root).
class HostLeakTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  Modrt modrt;
  TempDir dir;

 private:
  HostSnapshot before_;
};

// A HostLeakTest whose "host network" is a throwaway network namespace the test made: bridges, nft
// tables, veths and the net plugin's state for it live there, so a bug can never touch this
// machine's own network. TearDown fails the test when that netns still holds a link but lo, an nft
// rule, a 10.x address or net state, then deletes it.
class NetnsHostTest : public HostLeakTest {
 protected:
  static void SetUpTestSuite();
  void SetUp() override;
  void TearDown() override;

  // argv running args inside the netns. nsenter, not `ip netns exec`: that one also gives the
  // command a mount namespace with a fresh /sys, without the cgroup hierarchies.
  std::vector<std::string> host_argv(const std::vector<std::string>& args) const;
  Result in_host(const std::vector<std::string>& args,
                 std::chrono::seconds timeout = std::chrono::seconds(60)) const;
  // Interface names in the netns.
  std::vector<std::string> host_links() const;
  // What of modrt's the netns still holds (see above); empty when clean.
  std::vector<std::string> netns_leftovers() const;

  // A bridge name of this test's own (at most 15 characters), for configs that make one.
  std::string bridge_;

  const std::string& host_ns() const { return host_ns_; }
  // The net plugin's state for this netns: /run/modrt-net/<its cookie>.
  const std::filesystem::path& net_dir() const { return net_dir_; }

 private:
  std::string host_ns_;
  std::filesystem::path net_dir_;
};

}  // namespace modrt::test
