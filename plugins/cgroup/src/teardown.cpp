#include "teardown.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
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

// Test hook (documented in the README): MODRT_CGROUP_FORCE_NO_KILL_FILE=1 in modrt's environment
// makes rollback act as on a kernel without cgroup.kill (before 5.14), so the freeze-and-kill path
// is tested on a new kernel.
bool act_as_before_5_14() {
  static const bool hook = [] {
    const char* v = std::getenv("MODRT_CGROUP_FORCE_NO_KILL_FILE");
    return v && std::string_view(v) == "1";
  }();
  return hook;
}

// Freezes a cgroup (v1 freezer.state, v2 cgroup.freeze) for as long as it lives, so no task in
// it can fork while the others are killed one by one; thawed again at the end, since killed tasks
// die only once they run. Best effort: without it the kill still happens, only racier.
class Freeze {
 public:
  Freeze(Context& ctx, const Leaf* leaf) : ctx_(ctx) {
    if (!leaf) return;
    const bool v2 = leaf->version == Version::v2;
    file_ = leaf->path / (v2 ? "cgroup.freeze" : "freezer.state");
    thaw_ = v2 ? "0" : "THAWED";
    try {
      write_file(file_.string(), v2 ? "1" : "FROZEN");
      auto deadline = Clock::now() + std::chrono::seconds(1);
      auto frozen = [&] {
        return v2 ? read_file((leaf->path / "cgroup.events").string()).find("frozen 1") !=
                        std::string::npos
                  : read_file(file_.string()).rfind("FROZEN", 0) == 0;
      };
      while (!frozen() && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ctx.log().debug("froze {} to kill its tasks one by one", leaf->path.string());
    } catch (const Error& e) {
      ctx.log().debug("freeze {}: {}", leaf->path.string(), e.what());
    }
  }
  ~Freeze() {
    if (file_.empty()) return;
    try {
      write_file(file_.string(), thaw_);
    } catch (const Error& e) {
      ctx_.log().warn("thaw {}: {}", file_.parent_path().string(), e.what());
    }
  }
  Freeze(const Freeze&) = delete;
  Freeze& operator=(const Freeze&) = delete;

 private:
  Context& ctx_;
  fs::path file_;
  const char* thaw_ = "";
};

// Without cgroup.kill: freeze, SIGKILL every listed task (through a pidfd), thaw. The freezer is
// the v2 cgroup's own (cgroup.freeze, Linux 5.2) or the v1 freezer hierarchy's.
void freeze_and_kill(Context& ctx, const std::vector<Leaf>& leaves) {
  const Leaf* freezer = nullptr;
  for (const auto& leaf : leaves) {
    const char* file = leaf.version == Version::v2 ? "cgroup.freeze" : "freezer.state";
    if (!freezer && path_exists(leaf.path / file)) freezer = &leaf;
  }
  Freeze frozen(ctx, freezer);
  for (const auto& leaf : leaves) kill_listed(leaf.path);
}

void kill_and_wait(Context& ctx, const std::vector<Leaf>& leaves) {
  std::vector<Leaf> v1;
  bool have_kill_file = false;
  for (const auto& leaf : leaves) {
    if (leaf.version == Version::v1)
      v1.push_back(leaf);
    else
      have_kill_file =
          have_kill_file || (path_exists(leaf.path / "cgroup.kill") && !act_as_before_5_14());
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
      freeze_and_kill(ctx, leaves);
    } else {
      // Tasks that never reached the v2 cgroup (moved only in v1) are killed one by one.
      for (const auto& leaf : v1) kill_listed(leaf.path);
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(50000));
  }
}

// The pids still in a cgroup, for the message that says why it stays: " (still holds 2 processes:
// 812 813)", or "".
std::string still_holding(const fs::path& dir) {
  auto pids = procs_of(dir);
  if (pids.empty()) return "";
  std::string list;
  for (pid_t p : pids) list += " " + std::to_string(p);
  return fmt::format(" (still holds {} process(es) {} ms after SIGKILL:{})", pids.size(),
                     kEmptyTimeout.count(), list);
}

// rmdir that waits out the moment between the last task leaving and the kernel letting go.
// Returns "" when the directory is gone (or was never made), else why it stays.
std::string remove_dir(Context& ctx, const fs::path& dir, bool shared) {
  auto deadline = Clock::now() + std::chrono::milliseconds(500);
  for (;;) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return "";
    if (shared && (errno == EBUSY || errno == ENOTEMPTY)) {
      ctx.log().debug("{} is still in use by another container; left in place", dir.string());
      return "";
    }
    if (errno != EBUSY || Clock::now() >= deadline) {
      int code = errno;
      return fmt::format("remove cgroup '{}': {}{}", dir.string(), std::strerror(code),
                         still_holding(dir));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace

void remove_cgroups(Context& ctx) {
  Ledger& ledger = ctx.ledger();
  std::vector<std::string> left;  // what could not be undone, in the order tried
  std::vector<Leaf> leaves;
  for (const auto& value : ledger.values(kLedgerCgroup)) {
    Leaf leaf{Version::v1, {}, value};
    if (parse_ledger_value(value, leaf.version, leaf.path))
      leaves.push_back(leaf);
    else
      left.push_back(fmt::format("malformed ledger entry '{} {}'", kLedgerCgroup, value));
  }
  // Only the leaves: their names prove this run made them (see create_cgroup). Whatever runs
  // there belongs to this container, e.g. the workload of a modrt that was killed.
  try {
    kill_and_wait(ctx, leaves);
  } catch (const std::exception& e) {
    // Removal below still runs: an empty cgroup goes, a busy one says so.
    ctx.log().error("killing what was left in the container's cgroups: {}", e.what());
  }
  std::vector<fs::path> stuck;  // leaves that stay: their parents must stay on record too
  for (auto it = leaves.rbegin(); it != leaves.rend(); ++it) {
    std::string why = remove_dir(ctx, it->path, false);
    if (why.empty()) {
      ledger.forget(kLedgerCgroup, it->ledger_value);
    } else {
      left.push_back(why);
      stuck.push_back(it->path);
    }
  }
  // Parents deepest first; ours and the shared "modrt" ones go only when nothing else is in them.
  std::vector<std::pair<std::string, std::string>> parents;
  for (const auto& e : ledger.entries())
    if (e.kind == kLedgerParent || e.kind == kLedgerShared) parents.emplace_back(e.kind, e.value);
  for (auto it = parents.rbegin(); it != parents.rend(); ++it) {
    Version v;
    fs::path path;
    if (!parse_ledger_value(it->second, v, path)) {
      left.push_back(fmt::format("malformed ledger entry '{} {}'", it->first, it->second));
      continue;
    }
    // Busy with our own leftover, not "in use by another container": trying now would forget it,
    // and the gc that later removes the leftover would leave it behind.
    auto holds = std::find_if(stuck.begin(), stuck.end(), [&](const fs::path& leaf) {
      auto rel = leaf.lexically_relative(path);
      return !rel.empty() && *rel.begin() != "..";
    });
    if (holds != stuck.end()) {
      left.push_back(fmt::format("'{}' still holds '{}'", path.string(), holds->string()));
      continue;
    }
    std::string why = remove_dir(ctx, path, true);
    if (why.empty())
      ledger.forget(it->first, it->second);
    else
      left.push_back(why);
  }
  if (left.empty()) return;
  std::string what;
  for (const auto& l : left) what += (what.empty() ? "" : "; ") + l;
  throw Error(fmt::format(
      "{} left in the ledger for `modrt gc`: {}",
      left.size() == 1 ? "1 cgroup entry" : fmt::format("{} cgroup entries", left.size()), what));
}

}  // namespace modrt::cgroup
