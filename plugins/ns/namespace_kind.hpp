// The namespace kinds the ns stage knows: their config names, clone flags and /proc/PID/ns names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modrt::ns {

struct NamespaceKind {
  std::string_view name;       // in the config: user, pid, mount, uts, ipc, net, cgroup, time
  std::string_view proc_name;  // under /proc/PID/ns/
  uint64_t flag;               // CLONE_NEW*
};

// Every kind, in the order joined namespaces are entered: user first, so that the kernel checks
// the joins after it against the joined user namespace's capabilities.
const std::vector<NamespaceKind>& all_kinds();
std::optional<NamespaceKind> find_kind(std::string_view name);
const NamespaceKind& kind_of_flag(uint64_t flag);
// "user, pid, mount, ..." for error messages.
std::string kind_names();

}  // namespace modrt::ns
