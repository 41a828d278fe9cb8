#include "rlimits.hpp"

#include <cctype>
#include <charconv>
#include <string_view>

#include <fmt/format.h>

#include "modrt/error.hpp"
#include "modrt/units.hpp"

namespace modrt::seccomp {

namespace {

struct Known {
  std::string_view name;
  int resource;
  bool bytes;  // sizes like 64M make sense
};

constexpr Known kLimits[] = {
    {"as", RLIMIT_AS, true},
    {"core", RLIMIT_CORE, true},
    {"cpu", RLIMIT_CPU, false},
    {"data", RLIMIT_DATA, true},
    {"fsize", RLIMIT_FSIZE, true},
    {"locks", RLIMIT_LOCKS, false},
    {"memlock", RLIMIT_MEMLOCK, true},
    {"msgqueue", RLIMIT_MSGQUEUE, true},
    {"nice", RLIMIT_NICE, false},
    {"nofile", RLIMIT_NOFILE, false},
    {"nproc", RLIMIT_NPROC, false},
    {"rss", RLIMIT_RSS, true},
    {"rtprio", RLIMIT_RTPRIO, false},
    {"rttime", RLIMIT_RTTIME, false},
    {"sigpending", RLIMIT_SIGPENDING, false},
    {"stack", RLIMIT_STACK, true},
};

std::string known_names() {
  std::string out;
  for (const auto& k : kLimits) out += (out.empty() ? "" : ", ") + std::string(k.name);
  return out;
}

rlim_t parse_value(const ConfigNode& node, const Known& limit) {
  std::string text = node.as_string();
  if (text == "unlimited" || text == "infinity") return RLIM_INFINITY;
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc() && ptr == text.data() + text.size()) return value;
  if (limit.bytes) {
    if (auto size = parse_size(text)) return *size;
    node.fail(fmt::format("expected a number, a size like 64M, or unlimited, got '{}'", text));
  }
  node.fail(fmt::format("expected a number or unlimited, got '{}'", text));
}

}  // namespace

std::string format_limit(rlim_t value) {
  return value == RLIM_INFINITY ? "unlimited" : fmt::format("{}", value);
}

std::vector<RlimitSetting> parse_rlimits(const ConfigNode& node) {
  std::vector<RlimitSetting> out;
  for (const auto& [key, value] : node.entries()) {
    std::string name;
    for (char c : key) name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name.rfind("rlimit_", 0) == 0) name = name.substr(7);
    const Known* limit = nullptr;
    for (const auto& k : kLimits)
      if (k.name == name) limit = &k;
    if (!limit)
      value.fail(
          fmt::format("unknown resource limit '{}' (expected one of: {})", key, known_names()));
    for (const auto& seen : out)
      if (seen.resource == limit->resource)
        value.fail(fmt::format("'{}' is already set as '{}'", key, seen.name));

    RlimitSetting setting{std::string(limit->name), limit->resource, {}, {}};
    if (value.is_map()) {
      value.expect_keys({"soft", "hard"});
      if (auto soft = value.find("soft")) setting.soft = parse_value(*soft, *limit);
      if (auto hard = value.find("hard")) setting.hard = parse_value(*hard, *limit);
      if (!setting.soft && !setting.hard) value.fail("give soft, hard or both");
      if (setting.soft && setting.hard && *setting.soft > *setting.hard)
        value.fail(fmt::format("soft limit {} is above the hard limit {}",
                               format_limit(*setting.soft), format_limit(*setting.hard)));
    } else {
      setting.soft = setting.hard = parse_value(value, *limit);
    }
    out.push_back(std::move(setting));
  }
  return out;
}

void raise_rlimits(pid_t pid, const std::vector<RlimitSetting>& limits) {
  for (const auto& limit : limits) {
    rlimit current{};
    if (::prlimit(pid, static_cast<__rlimit_resource>(limit.resource), nullptr, &current) < 0)
      throw_errno("read rlimit {} of pid {}", limit.name, pid);
    rlimit raised = current;
    if (limit.hard && *limit.hard > raised.rlim_max) raised.rlim_max = *limit.hard;
    if (limit.soft && *limit.soft > raised.rlim_cur && *limit.soft <= raised.rlim_max)
      raised.rlim_cur = *limit.soft;
    if (raised.rlim_max == current.rlim_max && raised.rlim_cur == current.rlim_cur) continue;
    if (::prlimit(pid, static_cast<__rlimit_resource>(limit.resource), &raised, nullptr) < 0) {
      int code = errno;
      throw_system_error(
          code, fmt::format("raise rlimit {} of pid {} to soft {} hard {}{}", limit.name, pid,
                            format_limit(raised.rlim_cur), format_limit(raised.rlim_max),
                            code == EPERM ? fmt::format(" (above {} needs CAP_SYS_RESOURCE{})",
                                                        format_limit(current.rlim_max),
                                                        limit.resource == RLIMIT_NOFILE
                                                            ? "; nofile stops at fs.nr_open"
                                                            : "")
                                          : ""));
    }
  }
}

void apply_rlimits(pid_t pid, const std::vector<RlimitSetting>& limits) {
  for (const auto& limit : limits) {
    rlimit current{};
    if (::prlimit(pid, static_cast<__rlimit_resource>(limit.resource), nullptr, &current) < 0)
      throw_errno("read rlimit {}", limit.name);
    rlimit wanted{limit.soft.value_or(current.rlim_cur), limit.hard.value_or(current.rlim_max)};
    // Only one side given: the other one follows where it must, so `soft: 100` under a lower
    // inherited hard limit is an error below, but `hard: 100` under a higher soft one lowers both.
    if (!limit.soft && wanted.rlim_cur > wanted.rlim_max) wanted.rlim_cur = wanted.rlim_max;
    if (wanted.rlim_cur > wanted.rlim_max)
      throw Error(fmt::format("rlimit {}: soft limit {} is above the inherited hard limit {}",
                              limit.name, format_limit(wanted.rlim_cur),
                              format_limit(wanted.rlim_max)));
    if (::prlimit(pid, static_cast<__rlimit_resource>(limit.resource), &wanted, nullptr) < 0)
      throw_errno("set rlimit {} to soft {} hard {}", limit.name, format_limit(wanted.rlim_cur),
                  format_limit(wanted.rlim_max));
  }
}

}  // namespace modrt::seccomp
