#include "namespace_kind.hpp"

#include <sched.h>

#include <stdexcept>

#include <fmt/format.h>

namespace modrt::ns {

const std::vector<NamespaceKind>& all_kinds() {
  static const std::vector<NamespaceKind> kinds{
      {"user", "user", CLONE_NEWUSER},       {"pid", "pid", CLONE_NEWPID},
      {"mount", "mnt", CLONE_NEWNS},         {"uts", "uts", CLONE_NEWUTS},
      {"ipc", "ipc", CLONE_NEWIPC},          {"net", "net", CLONE_NEWNET},
      {"cgroup", "cgroup", CLONE_NEWCGROUP}, {"time", "time", CLONE_NEWTIME},
  };
  return kinds;
}

std::optional<NamespaceKind> find_kind(std::string_view name) {
  for (const auto& kind : all_kinds())
    if (kind.name == name) return kind;
  return std::nullopt;
}

const NamespaceKind& kind_of_flag(uint64_t flag) {
  for (const auto& kind : all_kinds())
    if (kind.flag == flag) return kind;
  throw std::logic_error(fmt::format("no namespace kind has clone flag {:#x}", flag));
}

std::string kind_names() {
  std::string out;
  for (const auto& kind : all_kinds()) {
    if (!out.empty()) out += ", ";
    out += kind.name;
  }
  return out;
}

}  // namespace modrt::ns
