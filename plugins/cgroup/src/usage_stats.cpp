#include "usage_stats.hpp"

#include <fcntl.h>

#include <charconv>
#include <map>
#include <optional>

#include "cgroup_dirs.hpp"
#include "modrt/error.hpp"
#include "modrt/fd.hpp"

namespace modrt::cgroup {

namespace {

std::optional<uint64_t> number_in(int dir, const char* file, std::string_view field = {}) {
  std::string text;
  try {
    text = read_file_at(dir, file);
  } catch (const Error&) {
    return std::nullopt;  // not served in this hierarchy
  }
  std::string_view v = text;
  if (!field.empty()) {
    auto at = v.find(std::string(field) + " ");
    if (at == std::string_view::npos) return std::nullopt;
    v = v.substr(at + field.size() + 1);
  }
  uint64_t out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc()) return std::nullopt;
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> read_usage(const Ledger& ledger) {
  std::map<std::string, uint64_t> found;
  auto take = [&](const char* key, std::optional<uint64_t> v) {
    if (v && !found.count(key)) found[key] = *v;
  };
  for (const auto& value : ledger.values(kLedgerCgroup)) {
    Version version;
    std::filesystem::path path;
    if (!parse_ledger_value(value, version, path)) continue;
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) continue;
    UniqueFd dir(fd);
    if (version == Version::v2) {
      take("memory.current", number_in(fd, "memory.current"));
      take("memory.peak", number_in(fd, "memory.peak"));
      take("cpu.usage_usec", number_in(fd, "cpu.stat", "usage_usec"));
    } else {
      take("memory.current", number_in(fd, "memory.usage_in_bytes"));
      take("memory.peak", number_in(fd, "memory.max_usage_in_bytes"));
      if (auto ns = number_in(fd, "cpuacct.usage")) take("cpu.usage_usec", *ns / 1000);
    }
    take("pids.current", number_in(fd, "pids.current"));
    take("pids.peak", number_in(fd, "pids.peak"));
    take("memory.oom_kills", version == Version::v2
                                 ? number_in(fd, "memory.events", "oom_kill")
                                 : number_in(fd, "memory.oom_control", "oom_kill"));
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (const char* key : {"memory.current", "memory.peak", "memory.oom_kills", "cpu.usage_usec",
                          "pids.current", "pids.peak"})
    if (found.count(key)) out.emplace_back(key, std::to_string(found[key]));
  return out;
}

}  // namespace modrt::cgroup
