// The fs stage's `with:` block, read and checked once at create() so that `modrt validate` reports
// every mistake with its file:line:column before anything is done.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "modrt/config.hpp"

namespace modrt::fs {

enum class Propagation { private_, slave, shared, unbindable };

struct MountSpec {
  enum class Type { bind, tmpfs };
  Type type = Type::bind;
  std::filesystem::path source;  // bind: resolved against the config's folder
  std::string destination;       // absolute, inside the container
  bool readonly = false;
  bool recursive = true;  // bind: rbind (submounts come along)
  bool nosuid = false;
  bool nodev = false;
  bool noexec = false;
  Propagation propagation = Propagation::private_;
  bool idmap = false;  // bind, under a user namespace: host uid N shows as container uid N
  std::optional<uint64_t> size;  // tmpfs bytes
  std::optional<unsigned> mode;  // tmpfs root permissions
};

// Where an ephemeral upper lives: a private tmpfs that exists only as long as the container's
// mounts do (no host mount, no disk I/O, nothing to remove), or directories under the run's state
// dir that rollback removes (for writes too large for memory).
enum class Ephemeral { memory, disk };

struct OverlaySpec {
  std::vector<std::filesystem::path> lower;    // extra read-only layers above rootfs, top first
  std::optional<std::filesystem::path> upper;  // persistent upper; unset: ephemeral
  std::optional<std::filesystem::path> work;   // with upper: overlayfs' work dir
  Ephemeral ephemeral = Ephemeral::memory;
  std::optional<uint64_t> size;  // memory: the tmpfs's size limit
};

// Whether lower layers are shown through an idmapped mount when there is a user namespace, so that
// files owned by host root appear owned by the container's root instead of nobody.
enum class Idmap { automatic, on, off };

struct FsOptions {
  std::filesystem::path rootfs;
  std::optional<OverlaySpec> overlay;
  bool readonly = false;
  Idmap idmap = Idmap::automatic;
  std::vector<MountSpec> mounts;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  // Test hook, not a `with:` key (MODRT_FS_FORCE_PATH_LAYERS=1, read in create()): act as if the
  // kernel refused what kernels before ~6.15 refuse - the first overlay layer fd, and clones of
  // a detached mount - so the fallbacks run, and are tested, on a new kernel.
  bool act_as_old_kernel = false;
};

// runc's defaults: kernel interfaces that leak host information or allow host-wide changes.
const std::vector<std::string>& default_masked_paths();
const std::vector<std::string>& default_readonly_paths();

// Reads and validates `with:`; throws ConfigError naming the key. Checks that `rootfs`, layers
// and bind sources exist, and that the config has an ns stage with the mount namespace before fs.
FsOptions parse_options(const ConfigNode& with, const Config& config);

// "1777" / "0755" (octal digits) -> mode bits; nullopt when not a mode.
std::optional<unsigned> parse_mode(const std::string& text);

}  // namespace modrt::fs
