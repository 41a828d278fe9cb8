// User-namespace id maps as pure data: checking a map the way the kernel will, reading
// /etc/subuid-style grants and /proc/PID/uid_map, and deciding which host ids a caller may map.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modrt/context.hpp"

namespace modrt::ns {

// A half-open range of ids [start, start + count).
struct IdRange {
  uint64_t start = 0;
  uint64_t count = 0;
  uint64_t end() const { return start + count; }
};

// The kernel takes at most this many lines per map (since Linux 4.15).
inline constexpr size_t kMaxMapLines = 340;
// (uid_t)-1 is never a valid id, so a range may reach up to it but not include it.
inline constexpr uint64_t kIdLimit = 0xFFFFFFFFull;

struct MapProblem {
  size_t index;  // the line of the map at fault
  std::string message;
};

// What the kernel would refuse in a map: empty ranges, ranges past the id space, lines whose
// container or host side overlaps another line, too many lines.
std::optional<MapProblem> check_map(const std::vector<IdMapping>& map);

// Whether every id of [start, start + count) lies inside the union of ranges.
bool covered(const std::vector<IdRange>& ranges, uint64_t start, uint64_t count);

// The ranges /etc/subuid or /etc/subgid grants to a user, given by name or by numeric id.
// Lines are "owner:start:count"; malformed lines are skipped like shadow's tools do.
std::vector<IdRange> parse_subid(std::string_view text, std::string_view user, uint32_t id);

// Parses /proc/PID/uid_map text ("inside outside count" per line).
std::vector<IdMapping> parse_proc_map(std::string_view text);
// The text written to /proc/PID/uid_map: one "container host size" line per entry.
std::string format_map(const std::vector<IdMapping>& map);
// The arguments newuidmap/newgidmap take after the pid: container host size, flattened.
std::vector<std::string> helper_args(const std::vector<IdMapping>& map);

// The ids a process may use as "host" ids: the inside column of its own /proc/self/uid_map.
std::vector<IdRange> inside_ranges(const std::vector<IdMapping>& own_map);

}  // namespace modrt::ns
