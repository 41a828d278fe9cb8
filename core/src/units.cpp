#include "modrt/units.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

namespace modrt {

namespace {

// Parses a non-negative decimal ("12", "1.5") at the front of text; returns it and the rest.
std::optional<std::pair<double, std::string_view>> leading_number(std::string_view text) {
  size_t end = 0;
  bool dot = false;
  while (end < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[end])) || (text[end] == '.' && !dot))) {
    dot = dot || text[end] == '.';
    ++end;
  }
  if (end == 0 || text[0] == '.' || text[end - 1] == '.') return std::nullopt;
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + end, value);
  if (ec != std::errc() || ptr != text.data() + end) return std::nullopt;
  return std::pair{value, text.substr(end)};
}

}  // namespace

std::optional<uint64_t> parse_size(std::string_view text) {
  auto number = leading_number(text);
  if (!number) return std::nullopt;
  auto [value, suffix] = *number;
  double scale = 1;
  if (suffix == "B" || suffix == "b") {
    suffix = {};
  } else if (!suffix.empty()) {
    constexpr std::string_view kUnits = "KMGTP";
    size_t power =
        kUnits.find(static_cast<char>(std::toupper(static_cast<unsigned char>(suffix[0]))));
    if (power == std::string_view::npos) return std::nullopt;
    std::string_view rest = suffix.substr(1);
    if (!(rest.empty() || rest == "B" || rest == "i" || rest == "iB")) return std::nullopt;
    scale = std::ldexp(1.0, 10 * static_cast<int>(power + 1));
  }
  double bytes = std::round(value * scale);
  if (bytes >= 0x1p64) return std::nullopt;
  return static_cast<uint64_t>(bytes);
}

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  auto number = leading_number(text);
  if (!number) return std::nullopt;
  auto [value, unit] = *number;
  double ns_per_unit;
  if (unit.empty() || unit == "s")
    ns_per_unit = 1e9;
  else if (unit == "ms")
    ns_per_unit = 1e6;
  else if (unit == "us")
    ns_per_unit = 1e3;
  else if (unit == "ns")
    ns_per_unit = 1;
  else if (unit == "m")
    ns_per_unit = 60e9;
  else if (unit == "h")
    ns_per_unit = 3600e9;
  else
    return std::nullopt;
  double ns = std::round(value * ns_per_unit);
  if (ns >= 0x1p63) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<int64_t>(ns));
}

std::optional<double> parse_cpus(std::string_view text) {
  auto number = leading_number(text);
  if (!number) return std::nullopt;
  auto [value, unit] = *number;
  if (unit == "%") return value / 100.0;
  if (unit.empty()) return value;
  return std::nullopt;
}

}  // namespace modrt
