// Where the tests look for a container's cgroups: our own cgroup in a hierarchy + modrt/<name>.
// Written apart from the plugin's detection so the tests do not trust the code they check.
#pragma once

#include <optional>
#include <string>

namespace modrt::cgroup::test {

// Our own cgroup path as /proc/self/cgroup names it ("/" at the root), or "" when not listed.
std::string own_cgroup_path(const std::string& controller);
// Our own cgroup directory in the v1 hierarchy of `controller`, or in cgroup2 for "".
std::optional<std::string> own_cgroup_dir(const std::string& controller);
// <own>/modrt/<name> in that hierarchy.
std::optional<std::string> container_cgroup_dir(const std::string& controller,
                                                const std::string& name);

}  // namespace modrt::cgroup::test
