// Human units shared by every plugin: sizes (64M, 1.5G), durations (250ms, 2s) and CPU shares
// (50%).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace modrt {

// Binary multiples: K=1024, M, G, T, P; optional trailing "i"/"iB"/"B". Plain digits are bytes.
std::optional<uint64_t> parse_size(std::string_view text);
// ns, us, ms, s, m, h; a plain number is seconds.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);
// "50%" or "1.5" (CPUs) -> fraction of one CPU (0.5, 1.5).
std::optional<double> parse_cpus(std::string_view text);

}  // namespace modrt
