#include "modrt_test.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "modrt/fd.hpp"

namespace modrt::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Waits for pid up to timeout, then SIGKILLs it; returns the decoded status.
int wait_or_kill(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return decode_status(status);
    if (r < 0 && errno != EINTR) return -1;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ADD_FAILURE() << "process " << pid << " did not end within "
                    << std::chrono::duration_cast<std::chrono::seconds>(timeout).count()
                    << "s and was killed";
      return decode_status(status);
    }
    std::this_thread::sleep_for(2ms);
  }
}

pid_t spawn(const std::vector<std::string>& argv, int in_fd, int out_fd, int err_fd) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    // The test runner may have signals blocked or ignored; the tested process starts clean.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP}) ::signal(sig, SIG_DFL);
    ::execvp(args[0], args.data());
    dprintf(2, "exec %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  return pid;
}

std::atomic<int> counter{0};

}  // namespace

Result run(const std::vector<std::string>& argv, std::chrono::seconds timeout,
           const std::string& input) {
  TempDir io;
  fs::path in_path = io.write("stdin", input);
  int in_fd = ::open(in_path.c_str(), O_RDONLY | O_CLOEXEC);
  int out_fd = ::open((io / "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int err_fd = ::open((io / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  Result result;
  pid_t pid = spawn(argv, in_fd, out_fd, err_fd);
  ::close(in_fd);
  ::close(out_fd);
  ::close(err_fd);
  if (pid < 0) return result;
  result.exit_code = wait_or_kill(pid, timeout);
  result.out = slurp(io / "stdout");
  result.err = slurp(io / "stderr");
  return result;
}

Background::Background(const std::vector<std::string>& argv) {
  static TempDir logs;
  int n = counter++;
  out_ = logs / ("bg" + std::to_string(n) + ".out");
  err_ = logs / ("bg" + std::to_string(n) + ".err");
  int in_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int out_fd = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int err_fd = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  pid_ = spawn(argv, in_fd, out_fd, err_fd);
  ::close(in_fd);
  ::close(out_fd);
  ::close(err_fd);
}

Background::~Background() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
  }
}

void Background::signal(int sig) const {
  ::kill(pid_, sig);
}

std::string Background::output() const {
  return slurp(out_);
}

Result Background::wait(std::chrono::seconds timeout) {
  Result result;
  result.exit_code = wait_or_kill(pid_, timeout);
  reaped_ = true;
  result.out = slurp(out_);
  result.err = slurp(err_);
  return result;
}

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return cond();
}

std::string modrt_binary() {
  return MODRT_TEST_BINARY;
}
std::string plugin_dir() {
  return MODRT_TEST_PLUGIN_DIR;
}
std::string test_plugin_dir() {
  return MODRT_TEST_FAULT_PLUGIN_DIR;
}
std::string busybox_rootfs() {
  return MODRT_TEST_ROOTFS;
}
std::string source_dir() {
  return MODRT_TEST_SOURCE_DIR;
}

uint64_t netns_cookie_of(const std::string& netns) {
  uint64_t cookie = 0;
  std::string error;
  // A thread of its own joins the namespace, so this one stays where it is.
  std::thread([&] {
    UniqueFd ns(::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns || ::setns(ns.get(), CLONE_NEWNET) < 0) {
      error = std::string("join netns: ") + std::strerror(errno);
      return;
    }
    UniqueFd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    socklen_t len = sizeof cookie;
    if (!sock || ::getsockopt(sock.get(), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0)
      error = std::string("SO_NETNS_COOKIE: ") + std::strerror(errno);
  }).join();
  EXPECT_EQ(error, "") << netns;
  return cookie;
}

std::string unique_name(const std::string& stem) {
  // Short: names end up in interface names (15 bytes) and cgroup paths.
  return stem + std::to_string(::getpid() % 100000) + "-" + std::to_string(counter++);
}

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "modrt-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp: " + std::string(strerror(errno)));
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  fs::path p = path_ / name;
  fs::create_directories(p.parent_path());
  std::ofstream(p) << content;
  return p.string();
}

Modrt::Modrt() {
  root_ = fs::path("/run") / unique_name("modrt-test-");
}

Modrt::~Modrt() {
  std::error_code ec;
  // Plugin-wide data (".net" leases, ".seccomp" filter cache) belongs to this private root; a
  // container dir left in it is a finding for HostLeakTest, not ours to erase.
  for (const auto& entry : fs::directory_iterator(root_, ec))
    if (entry.path().filename().string().front() == '.') fs::remove_all(entry.path(), ec);
  fs::remove(root_, ec);
}

std::vector<std::string> Modrt::argv(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{modrt_binary(), "--root", root_.string(), "--plugin-path",
                                plugin_dir() + ":" + test_plugin_dir()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

Result Modrt::run(const std::vector<std::string>& args, std::chrono::seconds timeout,
                  const std::string& input) const {
  return test::run(argv(args), timeout, input);
}

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, sep);) out.push_back(item);
  return out;
}

// Our own cgroup in every mounted hierarchy, as absolute directories.
std::vector<fs::path> own_cgroup_dirs() {
  std::vector<fs::path> out;
  std::map<std::string, std::string> own;  // controller list -> path
  for (const auto& line : split(slurp("/proc/self/cgroup"), '\n')) {
    auto parts = split(line, ':');
    if (parts.size() >= 3) own[parts[1]] = line.substr(parts[0].size() + parts[1].size() + 2);
  }
  for (const auto& line : split(slurp("/proc/self/mountinfo"), '\n')) {
    auto sep = line.find(" - ");
    if (sep == std::string::npos) continue;
    auto left = split(line.substr(0, sep), ' ');
    auto right = split(line.substr(sep + 3), ' ');
    if (left.size() < 5 || right.size() < 3) continue;
    const std::string& mountpoint = left[4];
    if (right[0] == "cgroup2") {
      if (own.count("")) out.push_back(fs::path(mountpoint) / own[""].substr(1));
    } else if (right[0] == "cgroup") {
      for (const auto& opt : split(right[2], ',')) {
        for (const auto& [controllers, path] : own) {
          for (const auto& c : split(controllers, ','))
            if (!c.empty() && c == opt) out.push_back(fs::path(mountpoint) / path.substr(1));
        }
      }
    }
  }
  return out;
}

}  // namespace

HostSnapshot HostSnapshot::take() {
  HostSnapshot snap;
  for (const auto& line : split(slurp("/proc/self/mountinfo"), '\n')) {
    auto sep = line.find(" - ");
    if (sep == std::string::npos) continue;
    auto left = split(line.substr(0, sep), ' ');
    auto right = split(line.substr(sep + 3), ' ');
    if (left.size() < 5 || right.size() < 2) continue;
    snap.mounts.insert(left[4] + " " + right[0] + " " + right[1]);
  }
  for (const auto& dir : own_cgroup_dirs()) {
    std::error_code ec;
    fs::recursive_directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      if (it.depth() > 5) it.disable_recursion_pending();
      if (it->is_directory() && it->path().string().find("modrt") != std::string::npos)
        snap.cgroups.insert(it->path().string());
    }
  }
  for (const auto& entry : fs::directory_iterator("/sys/class/net"))
    snap.links.insert(entry.path().filename().string());
  Result nft = run({"nft", "list", "tables"}, std::chrono::seconds(10));
  if (nft.exit_code == 0) {
    for (const auto& line : split(nft.out, '\n'))
      if (line.rfind("table ", 0) == 0) snap.nft_tables.insert(line.substr(6));
  }
  return snap;
}

std::vector<std::string> diff(const HostSnapshot& before, const HostSnapshot& after) {
  std::vector<std::string> out;
  auto compare = [&](const auto& a, const auto& b, const char* what) {
    for (const auto& x : b)
      if (a.count(x) < b.count(x)) out.push_back(std::string("leaked ") + what + ": " + x);
    for (const auto& x : a)
      if (b.count(x) < a.count(x)) out.push_back(std::string("vanished ") + what + ": " + x);
  };
  compare(before.mounts, after.mounts, "mount");
  compare(before.cgroups, after.cgroups, "cgroup");
  compare(before.links, after.links, "link");
  compare(before.nft_tables, after.nft_tables, "nft table");
  return out;
}

void HostLeakTest::SetUp() {
  before_ = HostSnapshot::take();
}

void HostLeakTest::TearDown() {
  for (const auto& problem : diff(before_, HostSnapshot::take())) ADD_FAILURE() << problem;
  std::error_code ec;
  if (fs::exists(modrt.state_root(), ec)) {
    for (const auto& entry : fs::directory_iterator(modrt.state_root(), ec)) {
      // Plugin-wide data (".net") may stay while it is empty of leases; container dirs may not.
      if (entry.path().filename().string().front() != '.')
        ADD_FAILURE() << "leaked state dir: " << entry.path();
    }
  }
}

void NetnsHostTest::SetUpTestSuite() {
  // The first `ip netns add` on a machine mounts /run/netns for good; do that before any host
  // snapshot so it is not mistaken for a mount a test leaked.
  std::string probe = unique_name("mrp");
  run({"ip", "netns", "add", probe});
  run({"ip", "netns", "del", probe});
}

void NetnsHostTest::SetUp() {
  HostLeakTest::SetUp();
  host_ns_ = unique_name("mrn");
  ASSERT_EQ(run({"ip", "netns", "add", host_ns_}).exit_code, 0);
  net_dir_ = fs::path("/run/modrt-net") / std::to_string(netns_cookie_of(host_ns_));
  // A cookie is never reused: nobody else can have state for this brand-new netns.
  ASSERT_FALSE(fs::exists(net_dir_)) << net_dir_;
  bridge_ = unique_name("mrb");
  ASSERT_LE(bridge_.size(), 15u);
}

void NetnsHostTest::TearDown() {
  // A veth goes with its container's netns, which the kernel tears down asynchronously.
  std::vector<std::string> left;
  wait_until([&] { return (left = netns_leftovers()).empty(); }, 5s);
  for (const auto& l : left) ADD_FAILURE() << "left in the test's host netns: " << l;
  run({"ip", "netns", "del", host_ns_});
  // Only the state of the netns this test made (its cookie is never reused).
  std::error_code ec;
  fs::remove_all(net_dir_, ec);
  HostLeakTest::TearDown();
}

std::vector<std::string> NetnsHostTest::host_argv(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"nsenter", "--net=/run/netns/" + host_ns_, "--"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

Result NetnsHostTest::in_host(const std::vector<std::string>& args,
                              std::chrono::seconds timeout) const {
  return run(host_argv(args), timeout);
}

std::vector<std::string> NetnsHostTest::host_links() const {
  std::vector<std::string> out;
  for (const auto& line : split(in_host({"ip", "-o", "link"}).out, '\n')) {
    auto first = line.find(": ");
    if (first == std::string::npos) continue;
    auto second = line.find_first_of(":@", first + 2);
    out.push_back(line.substr(first + 2, second - first - 2));
  }
  return out;
}

std::vector<std::string> NetnsHostTest::netns_leftovers() const {
  std::vector<std::string> out;
  for (const auto& link : host_links())
    if (link != "lo") out.push_back("link " + link);
  std::string addresses = in_host({"ip", "-4", "-o", "addr"}).out;
  if (addresses.find("inet 10.") != std::string::npos) out.push_back("addresses: " + addresses);
  std::string rules = in_host({"nft", "list", "ruleset"}).out;
  if (!rules.empty()) out.push_back("nft rules: " + rules);
  if (fs::exists(net_dir_)) out.push_back("net state " + net_dir_.string());
  return out;
}

}  // namespace modrt::test
