// Where the cgroup hierarchies of this host are mounted and where this process sits in each of
// them, read once per run from /proc/self/mountinfo, /proc/self/cgroup and cgroup.controllers.
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace modrt::cgroup {

enum class Version { v1, v2 };
const char* to_string(Version v);

struct Hierarchy {
  Version version = Version::v1;
  std::filesystem::path mount;        // /sys/fs/cgroup/memory
  std::set<std::string> controllers;  // v1: the mount's controllers; v2: own cgroup.controllers
  std::string own;                    // our cgroup relative to the mount ("" when at its root)
  // v2 only: what our own cgroup hands down to its children (cgroup.subtree_control). Who runs
  // the cgroup decides this; modrt only reads it.
  std::set<std::string> delegated;

  std::filesystem::path own_dir() const { return own.empty() ? mount : mount / own; }
  bool own_is_root() const { return own.empty(); }
  bool has(std::string_view controller) const {
    return controllers.count(std::string(controller)) > 0;
  }
};

struct HostLayout {
  std::optional<Hierarchy> unified;  // the cgroup2 mount, if any
  std::vector<Hierarchy> v1;  // controller hierarchies (named ones like name=systemd are left out)

  const Hierarchy* v1_for(std::string_view controller) const;
  // Controllers a cgroup created beneath our own v2 cgroup can get: only those our cgroup already
  // delegates (its cgroup.subtree_control). Even at the hierarchy's root nothing more: enabling a
  // controller there would change the cgroups of every service on the machine.
  std::set<std::string> v2_offered() const;
  // Controllers our v2 cgroup has (cgroup.controllers) but does not hand down to children.
  std::set<std::string> v2_undelegated() const;
  // One line for errors and debug logs: "cgroup2 at X (hugetlb); v1: memory at Y, ...".
  std::string describe() const;
};

// Pure parsing: the mounts of type cgroup/cgroup2 and our path in each. v2 controllers are left
// empty; detect_layout() fills them from the filesystem.
HostLayout parse_layout(std::string_view mountinfo, std::string_view proc_self_cgroup);

// Reads this process's view of the host.
HostLayout detect_layout();

// "\040" and friends in mountinfo paths.
std::string unescape_mount_path(std::string_view text);

std::vector<std::string_view> split(std::string_view text, char sep);
std::set<std::string> split_words(std::string_view text);  // whitespace separated

}  // namespace modrt::cgroup
