#include "teardown.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "cgroup_dirs.hpp"
#include "modrt/error.hpp"
#include "modrt/fd.hpp"

namespace modrt::cgroup {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Leaf {
  Version version;
  fs::path path;
  std::string ledger_value;
};

bool path_exists(const fs::path& p) {
  return ::access(p.c_str(), F_OK) == 0;
}

std::vector<pid_t> procs_of(const fs::path& dir) {
  std::vector<pid_t> out;
  std::string text;
  try {
    text = read_file((dir / "cgroup.procs").string());
  } catch (const Error&) {
    return out;  // gone already
  }
  for (auto line : split(text, '\n')) {
    pid_t pid = 0;
    auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), pid);
    if (ec == std::errc() && pid > 0) out.push_back(pid);
  }
  return out;
}

bool populated(const Leaf& leaf) {
  if (leaf.version == Version::v2) {
    try {
      std::string events = read_file((leaf.path / "cgroup.events").string());
      return events.find("populated 1") != std::string::npos;
    } catch (const Error&) {
      return false;
    }
  }
  return !procs_of(leaf.path).empty();
}

// SIGKILL through a pidfd taken while the pid was still listed in our cgroup: if the process
// exits and its pid is reused meanwhile, the pidfd still names the dead one, so nothing outside
// our cgroups is ever signalled.
void kill_listed(const fs::path& dir) {
  for (pid_t pid : procs_of(dir)) {
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) continue;  // already gone
    UniqueFd pidfd(fd);
    auto now = procs_of(dir);
    if (std::find(now.begin(), now.end(), pid) == now.end()) continue;
    ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
  }
}

// v1 without cgroup.kill: stop every task first so none can fork while we kill the others.
void freeze_and_kill(Context& ctx, const std::vector<Leaf>& v1) {
  const Leaf* freezer = nullptr;
  for (const auto& leaf : v1)
    if (path_exists(leaf.path / "freezer.state")) freezer = &leaf;
  if (!freezer) {
    for (const auto& leaf : v1) kill_listed(leaf.path);
    return;
  }
  std::string state = (freezer->path / "freezer.state").string();
  try {
    write_file(state, "FROZEN");
    auto deadline = Clock::now() + std::chrono::seconds(1);
    while (read_file(state).rfind("FROZEN", 0) != 0 && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  } catch (const Error& e) {
    ctx.log().debug("freeze {}: {}", freezer->path.string(), e.what());
  }
  for (const auto& leaf : v1) kill_listed(leaf.path);
  try {
    write_file(state, "THAWED");  // killed tasks die only once they run again
  } catch (const Error& e) {
    ctx.log().warn("thaw {}: {}", freezer->path.string(), e.what());
  }
}

void kill_and_wait(Context& ctx, const std::vector<Leaf>& leaves) {
  std::vector<Leaf> v1;
  bool have_kill_file = false;
  for (const auto& leaf : leaves) {
    if (leaf.version == Version::v1)
      v1.push_back(leaf);
    else
      have_kill_file = have_kill_file || path_exists(leaf.path / "cgroup.kill");
  }
  auto deadline = Clock::now() + kEmptyTimeout;
  auto pause = std::chrono::microseconds(200);
  for (;;) {
    bool busy = false;
    for (const auto& leaf : leaves) busy = busy || populated(leaf);
    if (!busy) return;
    if (Clock::now() >= deadline) break;
    // One write kills every task of a v2 cgroup, however many fork meanwhile. The container's
    // tasks are in it (they were cloned into it), so v1 copies of them die too.
    bool killed = false;
    for (const auto& leaf : leaves) {
      if (leaf.version != Version::v2 || !have_kill_file || !populated(leaf)) continue;
      try {
        write_file((leaf.path / "cgroup.kill").string(), "1");
        killed = true;
      } catch (const Error& e) {
        ctx.log().debug("{}: {}", leaf.path.string(), e.what());
      }
    }
    if (!killed) {
      for (const auto& leaf : leaves)
        if (leaf.version == Version::v2) kill_listed(leaf.path);
      freeze_and_kill(ctx, v1);
    } else {
      // Tasks that never reached the v2 cgroup (moved only in v1) are killed one by one.
      for (const auto& leaf : v1) kill_listed(leaf.path);
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(50000));
  }
  for (const auto& leaf : leaves) {
    auto pids = procs_of(leaf.path);
    if (pids.empty()) continue;
    std::string list;
    for (pid_t p : pids) list += (list.empty() ? "" : " ") + std::to_string(p);
    ctx.log().error(
        "cgroup {} still holds {} process(es) [{}] {} ms after SIGKILL (stuck in the kernel?); "
        "it stays until they exit, then `modrt gc` removes it",
        leaf.path.string(), pids.size(), list, kEmptyTimeout.count());
  }
}

// rmdir that waits out the moment between the last task leaving and the kernel letting go.
bool remove_dir(Context& ctx, const fs::path& dir, bool shared) {
  auto deadline = Clock::now() + std::chrono::milliseconds(500);
  for (;;) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
    if (shared && (errno == EBUSY || errno == ENOTEMPTY)) {
      ctx.log().debug("{} is still in use by another container; left in place", dir.string());
      return true;
    }
    if (errno != EBUSY || Clock::now() >= deadline) {
      ctx.log().error("remove cgroup '{}': {}", dir.string(), std::strerror(errno));
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace

void remove_cgroups(Context& ctx) noexcept {
  try {
    Ledger& ledger = ctx.ledger();
    std::vector<Leaf> leaves;
    for (const auto& value : ledger.values(kLedgerCgroup)) {
      Leaf leaf{Version::v1, {}, value};
      if (parse_ledger_value(value, leaf.version, leaf.path))
        leaves.push_back(leaf);
      else
        ctx.log().warn("ignoring malformed ledger entry '{}'", value);
    }
    try {
      kill_and_wait(ctx, leaves);
    } catch (const std::exception& e) {
      // Removal below still runs: an empty cgroup goes, a busy one says so.
      ctx.log().error("killing what was left in the container's cgroups: {}", e.what());
    }
    for (auto it = leaves.rbegin(); it != leaves.rend(); ++it) {
      if (remove_dir(ctx, it->path, false)) ledger.forget(kLedgerCgroup, it->ledger_value);
    }
    // Parents deepest first; ours and the shared "modrt" ones go only when nothing else is in them.
    std::vector<std::pair<std::string, std::string>> parents;
    for (const auto& e : ledger.entries())
      if (e.kind == kLedgerParent || e.kind == kLedgerShared) parents.emplace_back(e.kind, e.value);
    for (auto it = parents.rbegin(); it != parents.rend(); ++it) {
      Version v;
      fs::path path;
      if (!parse_ledger_value(it->second, v, path)) continue;
      if (remove_dir(ctx, path, true)) ledger.forget(it->first, it->second);
    }
  } catch (const std::exception& e) {
    ctx.log().error("cgroup rollback: {}", e.what());
  }
}

}  // namespace modrt::cgroup
