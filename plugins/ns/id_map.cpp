#include "id_map.hpp"

#include <algorithm>
#include <charconv>
#include <sstream>

#include <fmt/format.h>

namespace modrt::ns {

namespace {

bool overlaps(uint64_t a, uint64_t a_count, uint64_t b, uint64_t b_count) {
  return a < b + b_count && b < a + a_count;
}

std::optional<uint64_t> parse_number(std::string_view text) {
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  for (;;) {
    size_t next = text.find(sep, pos);
    out.push_back(text.substr(pos, next == std::string_view::npos ? next : next - pos));
    if (next == std::string_view::npos) return out;
    pos = next + 1;
  }
}

}  // namespace

std::optional<MapProblem> check_map(const std::vector<IdMapping>& map) {
  if (map.size() > kMaxMapLines)
    return MapProblem{kMaxMapLines, fmt::format("{} lines; the kernel takes at most {}", map.size(),
                                                kMaxMapLines)};
  for (size_t i = 0; i < map.size(); ++i) {
    const IdMapping& m = map[i];
    if (m.size == 0) return MapProblem{i, "size must be at least 1"};
    if (uint64_t{m.container} + m.size > kIdLimit)
      return MapProblem{i,
                        fmt::format("container ids {}..{} run past the largest id {}", m.container,
                                    uint64_t{m.container} + m.size - 1, kIdLimit - 1)};
    if (uint64_t{m.host} + m.size > kIdLimit)
      return MapProblem{i, fmt::format("host ids {}..{} run past the largest id {}", m.host,
                                       uint64_t{m.host} + m.size - 1, kIdLimit - 1)};
    for (size_t j = 0; j < i; ++j) {
      if (overlaps(m.container, m.size, map[j].container, map[j].size))
        return MapProblem{i,
                          fmt::format("container ids {}..{} overlap line {} ({}..{})", m.container,
                                      uint64_t{m.container} + m.size - 1, j, map[j].container,
                                      uint64_t{map[j].container} + map[j].size - 1)};
      if (overlaps(m.host, m.size, map[j].host, map[j].size))
        return MapProblem{i, fmt::format("host ids {}..{} overlap line {} ({}..{})", m.host,
                                         uint64_t{m.host} + m.size - 1, j, map[j].host,
                                         uint64_t{map[j].host} + map[j].size - 1)};
    }
  }
  return std::nullopt;
}

bool covered(const std::vector<IdRange>& ranges, uint64_t start, uint64_t count) {
  std::vector<IdRange> sorted = ranges;
  std::sort(sorted.begin(), sorted.end(),
            [](const IdRange& a, const IdRange& b) { return a.start < b.start; });
  uint64_t want = start;
  const uint64_t end = start + count;
  for (const auto& r : sorted) {
    if (want >= end) break;
    if (r.start > want) break;  // a hole before the next range
    want = std::max(want, r.end());
  }
  return want >= end;
}

std::vector<IdRange> parse_subid(std::string_view text, std::string_view user, uint32_t id) {
  std::vector<IdRange> out;
  const std::string id_text = std::to_string(id);
  for (std::string_view line : split(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    auto fields = split(line, ':');
    if (fields.size() != 3) continue;
    if (fields[0] != user && fields[0] != id_text) continue;
    auto start = parse_number(fields[1]);
    auto count = parse_number(fields[2]);
    if (!start || !count || *count == 0 || *start + *count > kIdLimit) continue;
    out.push_back({*start, *count});
  }
  return out;
}

std::vector<IdMapping> parse_proc_map(std::string_view text) {
  std::vector<IdMapping> out;
  std::istringstream in{std::string(text)};
  uint64_t inside, outside, count;
  while (in >> inside >> outside >> count)
    out.push_back({static_cast<uint32_t>(inside), static_cast<uint32_t>(outside),
                   static_cast<uint32_t>(count)});
  return out;
}

std::string format_map(const std::vector<IdMapping>& map) {
  std::string out;
  for (const auto& m : map) out += fmt::format("{} {} {}\n", m.container, m.host, m.size);
  return out;
}

std::vector<std::string> helper_args(const std::vector<IdMapping>& map) {
  std::vector<std::string> out;
  for (const auto& m : map) {
    out.push_back(std::to_string(m.container));
    out.push_back(std::to_string(m.host));
    out.push_back(std::to_string(m.size));
  }
  return out;
}

std::vector<IdRange> inside_ranges(const std::vector<IdMapping>& own_map) {
  std::vector<IdRange> out;
  for (const auto& m : own_map) out.push_back({m.container, m.size});
  return out;
}

}  // namespace modrt::ns
