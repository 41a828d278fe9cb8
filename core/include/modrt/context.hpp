// Context: the one object the stages of a run share. The core owns it; stages read the config and
// fill the fields below in the order the pipeline runs them. Stages never talk to each other except
// through these fields.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/logger.h>

#include "modrt/config.hpp"
#include "modrt/fd.hpp"

namespace modrt {

class Executor;

// One line of /proc/PID/uid_map or gid_map.
struct IdMapping {
  uint32_t container = 0;
  uint32_t host = 0;
  uint32_t size = 0;
};

// Translates a container id through a map; nullopt when the id is unmapped.
std::optional<uint32_t> map_to_host(const std::vector<IdMapping>& map, uint32_t container_id);

// A file the container should see at `path` (e.g. /etc/resolv.conf written by the net stage). The
// fs stage places them after the root is mounted; with no fs stage they are not placed.
struct ContainerFile {
  std::string path;
  std::string content;
  unsigned mode = 0644;
};

// What a stage acquired, in the order it acquired it, as (kind, value) pairs. Every record and
// forget reaches the run's state journal as it happens, so record an entry *before* the step that
// acquires it: a modrt killed in between leaves an entry whose undo finds nothing, never a resource
// nobody knows of. `modrt delete` / `modrt gc` hand a dead run's ledger to the same stage's
// rollback, which must work from the ledger alone.
class Ledger {
 public:
  struct Entry {
    std::string kind;
    std::string value;
  };
  void record(std::string kind, std::string value);
  // Removes the first entry equal to (kind, value); returns whether one was there.
  bool forget(std::string_view kind, std::string_view value);
  std::vector<std::string> values(std::string_view kind) const;
  bool has(std::string_view kind) const;
  const std::vector<Entry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }

  // Core only: told of each record (true) and forget (false) before it returns. A record whose
  // observer throws is not kept, and the throw reaches the stage: it must not acquire what it
  // could not make durable.
  using Observer = std::function<void(const Entry&, bool recorded)>;
  void set_observer(Observer observer) { observer_ = std::move(observer); }

 private:
  std::vector<Entry> entries_;
  Observer observer_;
};

// How the workload ended, filled by the supervisor; stages may refine it in on_exit.
struct ExitStatus {
  bool exited = false;  // normal exit (code valid)
  int code = 0;         // exit code, or the signal number when !exited
  int exit_code() const { return exited ? code : 128 + code; }
  std::string reason;      // set by a stage that knows more, e.g. "killed by the OOM killer"
  int override_code = -1;  // >= 0: modrt exits with this instead (137 on OOM)
};

class Context {
 public:
  Context(const Config& config, std::filesystem::path state_dir)
      : process(config.process), config_(&config), state_dir_(std::move(state_dir)) {}

  const Config& config() const { return *config_; }
  const std::string& name() const { return config_->name; }
  // /run/modrt/<name>: exists for the whole run and is removed after the last rollback (kept for
  // `modrt gc` when a rollback could not undo everything).
  const std::filesystem::path& state_dir() const { return state_dir_; }
  // The folder holding every run's state dir (/run/modrt unless --root says otherwise). Data a
  // plugin shares across the runs of one root may live in state_root()/".<plugin>" (names never
  // start with a dot); data about host objects every root can use (a bridge, an nft table) must be
  // shared host-wide instead, as the net plugin does per network namespace.
  std::filesystem::path state_root() const { return state_dir_.parent_path(); }

  // The process the executor will start; stages may add env or change the cwd.
  Process process;

  // --- assembled during prepare (host side) ---

  // CLONE_NEW* flags the workload is cloned with.
  uint64_t clone_flags = 0;
  // CLONE_NEW* flags of every namespace the workload will have of its own, whether cloned with it
  // or created inside it later (the ns stage does that when it joins an existing user namespace).
  // Stages that depend on a namespace (fs on mount, net on net) test this, not clone_flags.
  uint64_t namespaces = 0;
  // User namespace maps; empty when there is no new user namespace. The ns stage writes them.
  std::vector<IdMapping> uid_map;
  std::vector<IdMapping> gid_map;
  // A cgroup v2 directory fd: the workload is created directly inside it (CLONE_INTO_CGROUP).
  UniqueFd cgroup_fd;
  // Run a tiny init as PID 1 that forwards signals to, and reaps orphans of, the workload.
  bool init = false;
  // Files to place inside the container's root (see ContainerFile).
  std::vector<ContainerFile> container_files;
  // Replaces execve of process.args (set by a backend such as the vm plugin). Not owned.
  Executor* executor = nullptr;
  // Steps the workload runs first thing after its release, before any stage's apply_workload, in
  // the order added. For what must precede every other stage's work inside: e.g. joining v1
  // cgroups by writing 0 to fds opened on the host (cheap only when a task moves itself), before
  // the ns stage roots a new cgroup namespace at the workload's cgroups.
  std::vector<std::function<void(Context&)>> workload_prologue;

  // --- inside the workload ---
  bool user_switched = false;  // switch_user() ran (see process.hpp)

  // --- set by the core at spawn ---
  pid_t pid = -1;  // the workload, in the host's pid namespace
  int pidfd = -1;  // a pidfd of it, owned by the core

  // --- set by the supervisor when the workload ended ---
  ExitStatus exit;

  // --- per stage: the core points these at the running stage's own ---
  spdlog::logger& log() const { return *log_; }
  Ledger& ledger() const { return *ledger_; }
  const std::string& stage_name() const { return *stage_name_; }

  // Host-side container uid/gid 0 (after the maps); the caller's own ids with no user namespace.
  uint32_t root_host_uid() const;
  uint32_t root_host_gid() const;

  // Core only: select the stage whose hook runs next.
  void enter_stage(const std::string& name, spdlog::logger& log, Ledger& ledger) {
    stage_name_ = &name;
    log_ = &log;
    ledger_ = &ledger;
  }

 private:
  const Config* config_;
  std::filesystem::path state_dir_;
  const std::string* stage_name_ = nullptr;
  spdlog::logger* log_ = nullptr;
  Ledger* ledger_ = nullptr;
};

}  // namespace modrt
