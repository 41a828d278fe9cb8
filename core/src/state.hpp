// The state of runs: a state root (/run/modrt by default) holding one dir per run, <root>/<name>/:
//   state.json  written once, before the dir is published: who runs it, the config, the stages,
//               and the marker that tells a dir modrt made from anything else in the root;
//   journal     appended to as the run goes (a stage started, each ledger record and forget as it
//               happens, the workload's identity, a stage rolled back).
// Appending never replaces a file, so recording costs one small write (replacing a file by rename
// is what made ext4 with `discard`, where this machine's /run lives, wait for I/O). The live modrt
// holds an flock on the dir for the whole run: a dir whose lock is free belongs to a dead run.
//
// Names reach here only as ContainerName, which cannot hold a path, and every file operation is
// relative to an fd of the root: a name from the command line cannot point anywhere else.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "modrt/error.hpp"
#include "modrt/fd.hpp"

namespace modrt {

struct ProcessIdentity {
  pid_t pid = 0;
  unsigned long long start_time = 0;  // field 22 of /proc/PID/stat: tells a reused pid apart
  static ProcessIdentity self();
  // The start time of pid now; 0 when there is no such process.
  static unsigned long long start_time_of(pid_t pid);
  bool alive() const;
  // SIGKILLs the process if, and only if, it is still the one identified (checked through a pidfd
  // taken first, so the pid cannot be reused between the check and the kill). Returns whether it
  // was signalled; a stranger now holding the pid is never touched.
  bool kill() const;
};

// A dir in the state root that modrt did not make (no state.json with modrt's marker): never
// touched, never removed.
class NotOurs : public Error {
 public:
  using Error::Error;
};

// A container name: what `run` accepts, and so never a path ([A-Za-z0-9][A-Za-z0-9_.-]{0,63}).
class ContainerName {
 public:
  // Throws ConfigError naming `what` (e.g. "--name") for anything else.
  static ContainerName parse(std::string_view text, std::string_view what);
  const std::string& str() const { return name_; }

 private:
  explicit ContainerName(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

class StateRoot {
 public:
  // Opens the root, creating it (0700) when `create` is set. With `create` unset, a missing root
  // is an empty one (fd() is then -1).
  static StateRoot open(const std::filesystem::path& path, bool create);
  const std::filesystem::path& path() const { return path_; }
  int fd() const { return fd_.get(); }
  // Names of the entries that are run dirs (valid names, directories); plugin-wide data (".net")
  // and half-made dirs (".new-*") are not among them.
  std::vector<std::string> runs() const;
  // Half-made dirs a SIGKILLed `create` left (".new-NAME.PID").
  std::vector<std::string> half_made() const;
  // Removes a half-made dir if its lock is free and it holds nothing but the files `create` writes.
  // Returns what is left of it (empty: gone).
  std::vector<std::string> remove_half_made(const std::string& entry) const;

 private:
  StateRoot(std::filesystem::path path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::filesystem::path path_;
  UniqueFd fd_;
};

class StateDir {
 public:
  // Called with a locked dead run of the same name, before the name is reused; throws if it
  // could not undo everything (the name then stays taken).
  using Recover = std::function<void(StateDir& stale)>;

  // Creates <root>/<name> with `record` as its state.json and the lock held. A live run of the same
  // name is an error; the state of a dead one is handed to `recover` and then replaced.
  static StateDir create(const StateRoot& root, const ContainerName& name,
                         const nlohmann::json& record, const Recover& recover);
  // Locks the dir of a dead run for `modrt delete`/`gc`. Throws "no container named …" when there
  // is none, and refuses a live run and a dir that modrt did not make (no marker).
  static StateDir adopt(const StateRoot& root, const ContainerName& name);

  StateDir(StateDir&&) noexcept = default;
  StateDir& operator=(StateDir&&) noexcept = default;
  ~StateDir();

  const std::filesystem::path& path() const { return path_; }
  const std::string& name() const { return name_; }
  // Appends events, one JSON object per line, in one write.
  void append(const std::vector<nlohmann::json>& events) const;
  // state.json with the journal replayed into it: "workload_pid", "workload_start_time", and per
  // stage "started" and "ledger" ([[kind, value], ...]). A torn last line (a crash mid-write) is
  // ignored.
  nlohmann::json load() const;
  // Removes the dir and everything in it (never across a mount or a symlink); the lock goes with
  // it. Throws, naming what is left, when something could not be removed.
  void remove();
  // Leaves the dir for `modrt gc` and lets go of the lock.
  void keep();

  // Default state root: /run/modrt for root, $XDG_RUNTIME_DIR/modrt (or /tmp/modrt-UID) otherwise.
  static std::filesystem::path default_root();

 private:
  StateDir(const StateRoot& root, std::string name, UniqueFd dir, UniqueFd journal);
  std::filesystem::path path_;
  std::string name_;
  int root_fd_ = -1;  // not owned: the StateRoot outlives its dirs
  UniqueFd dir_;      // the dir itself, flocked
  UniqueFd journal_;  // O_APPEND
};

// The state of <root>/<name> read without taking its lock (for `list` and `stats`). Throws "no
// container named …" when there is no such dir, NotOurs when modrt did not make it.
nlohmann::json load_state(const StateRoot& root, const std::string& name);

// Whether the run <root>/<name> is alive: its lock is held, or its modrt still exists.
bool state_is_live(const StateRoot& root, const std::string& name);

// Replays a journal (and its state.json) into one object; see StateDir::load. Exposed for tests
// and the fuzz target: it must take any bytes without crashing (throws Error on a bad state.json).
nlohmann::json replay_state(std::string_view state_json, std::string_view journal);

}  // namespace modrt
