// The state dir of one run: <root>/<name>/ holding
//   state.json  written once, before the dir is published: who runs it, the config, the stages;
//   journal     appended to as the run goes (a stage started, what it acquired, the workload's
//   pid).
// Appending never replaces a file, so recording costs one small write (replacing a file by rename
// is what made ext4 with `discard`, where this machine's /run lives, wait for I/O). The live modrt
// holds an flock on the dir for the whole run: a dir whose lock is free belongs to a dead run.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "modrt/fd.hpp"

namespace modrt {

struct ProcessIdentity {
  pid_t pid = 0;
  unsigned long long start_time = 0;  // field 22 of /proc/PID/stat: tells a reused pid apart
  static ProcessIdentity self();
  bool alive() const;
};

class StateDir {
 public:
  // Called with the dir of a dead run, lock held, before the name is reused.
  using Recover = std::function<void(const std::filesystem::path& dir)>;

  // Creates <root>/<name> with `record` as its state.json and the lock held. A live run of the same
  // name is an error; the state of a dead one is handed to `recover` and then replaced.
  static StateDir create(const std::filesystem::path& root, const std::string& name,
                         const nlohmann::json& record, const Recover& recover);
  // Locks the existing dir of a dead run for `modrt delete`/`gc`; throws if the run is alive.
  static StateDir adopt(const std::filesystem::path& dir);

  StateDir(StateDir&&) noexcept = default;
  StateDir& operator=(StateDir&&) noexcept = default;
  ~StateDir();

  const std::filesystem::path& path() const { return path_; }
  // Appends events, one JSON object per line, in one write.
  void append(const std::vector<nlohmann::json>& events) const;
  // state.json with the journal replayed into it: "workload_pid", and per stage "started" and
  // "ledger" ([[kind, value], ...]). A torn last line (a crash mid-write) is ignored.
  static nlohmann::json load(const std::filesystem::path& dir);
  // Removes the dir and everything in it; the lock goes with it.
  void remove();

  // Default state root: /run/modrt for root, $XDG_RUNTIME_DIR/modrt (or /tmp/modrt-UID) otherwise.
  static std::filesystem::path default_root();

 private:
  StateDir(std::filesystem::path path, UniqueFd lock, UniqueFd journal)
      : path_(std::move(path)), lock_(std::move(lock)), journal_(std::move(journal)) {}
  std::filesystem::path path_;
  UniqueFd lock_;     // the dir itself, flocked
  UniqueFd journal_;  // O_APPEND
};

// Whether the run behind a state dir is alive: its lock is held, or its modrt still exists.
bool state_is_live(const std::filesystem::path& dir);

}  // namespace modrt
