// Where the tests look for a container's cgroups: our own cgroup in a hierarchy + modrt/<name>.
// Written apart from the plugin's detection so the tests do not trust the code they check.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace modrt::cgroup::test {

// Our own cgroup path as /proc/self/cgroup names it ("/" at the root), or "" when not listed.
std::string own_cgroup_path(const std::string& controller);
// Our own cgroup directory in the v1 hierarchy of `controller`, or in cgroup2 for "".
std::optional<std::string> own_cgroup_dir(const std::string& controller);
// Where that hierarchy is mounted (the directory of its root cgroup).
std::optional<std::string> hierarchy_mount(const std::string& controller);
// A shell expression for the directory of the caller's own cgroup in that hierarchy, read from
// /proc/self/cgroup when it runs (for a workload whose cgroup name is drawn per run).
std::string own_dir_in_shell(const std::string& controller);
// The container's cgroups in that hierarchy as they are now: <own>/modrt/<name>-<12 hex digits>
// (the stage draws the suffix per run).
std::vector<std::string> container_cgroup_dirs(const std::string& controller,
                                               const std::string& name);
// The one container cgroup of `name` in that hierarchy, waiting up to 10 s for it to appear;
// nullopt when the hierarchy is not there, none appeared, or more than one exists.
std::optional<std::string> container_cgroup_dir(const std::string& controller,
                                                const std::string& name);

}  // namespace modrt::cgroup::test
