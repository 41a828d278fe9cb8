#include "modrt/context.hpp"

#include <unistd.h>

#include <algorithm>

namespace modrt {

void Ledger::record(std::string kind, std::string value) {
  Entry entry{std::move(kind), std::move(value)};
  if (observer_) observer_(entry, true);
  entries_.push_back(std::move(entry));
}

bool Ledger::forget(std::string_view kind, std::string_view value) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.kind == kind && e.value == value; });
  if (it == entries_.end()) return false;
  Entry entry = std::move(*it);
  entries_.erase(it);
  if (observer_) observer_(entry, false);
  return true;
}

std::vector<std::string> Ledger::values(std::string_view kind) const {
  std::vector<std::string> out;
  for (const auto& e : entries_)
    if (e.kind == kind) out.push_back(e.value);
  return out;
}

bool Ledger::has(std::string_view kind) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const Entry& e) { return e.kind == kind; });
}

std::optional<uint32_t> map_to_host(const std::vector<IdMapping>& map, uint32_t container_id) {
  for (const auto& m : map)
    if (container_id >= m.container && container_id - m.container < m.size)
      return m.host + (container_id - m.container);
  return std::nullopt;
}

uint32_t Context::root_host_uid() const {
  if (uid_map.empty()) return ::geteuid();
  return map_to_host(uid_map, 0).value_or(65534);
}

uint32_t Context::root_host_gid() const {
  if (gid_map.empty()) return ::getegid();
  return map_to_host(gid_map, 0).value_or(65534);
}

}  // namespace modrt
