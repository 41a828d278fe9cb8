// The state dir of one run: <root>/<name>/ with state.json (what every stage acquired) and a lock
// that the live modrt holds for the whole run. A dir whose lock is free belongs to a dead modrt.
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

  // Creates <root>/<name> with its lock held. A live run of the same name is an error; the state of
  // a dead one is handed to `recover` and then replaced.
  static StateDir create(const std::filesystem::path& root, const std::string& name,
                         const Recover& recover);
  // Locks the existing dir of a dead run for `modrt delete`/`gc`; throws if the run is alive.
  static StateDir adopt(const std::filesystem::path& dir);

  StateDir(StateDir&&) noexcept = default;
  StateDir& operator=(StateDir&&) noexcept = default;
  ~StateDir();

  const std::filesystem::path& path() const { return path_; }
  // Writes state.json atomically (temp file + rename), so a reader never sees half of it.
  void save(const nlohmann::json& state) const;
  static nlohmann::json load(const std::filesystem::path& dir);
  // Removes the dir and everything in it; the lock goes with it.
  void remove();

  // Default state root: /run/modrt for root, $XDG_RUNTIME_DIR/modrt (or /tmp/modrt-UID) otherwise.
  static std::filesystem::path default_root();

 private:
  StateDir(std::filesystem::path path, UniqueFd lock)
      : path_(std::move(path)), lock_(std::move(lock)) {}
  std::filesystem::path path_;
  UniqueFd lock_;
};

// The live-or-dead answer for a state dir, by its lock and the recorded modrt identity.
bool state_is_live(const std::filesystem::path& dir);

}  // namespace modrt
