#include "exit_reason.hpp"

#include <signal.h>

#include <charconv>

#include <fmt/format.h>

#include "host_layout.hpp"
#include "modrt/error.hpp"
#include "modrt/fd.hpp"
#include "resources.hpp"

namespace modrt::cgroup {

namespace {

std::optional<uint64_t> field(std::string_view text, std::string_view name) {
  for (auto line : split(text, '\n')) {
    if (line.size() > name.size() && line.substr(0, name.size()) == name &&
        line[name.size()] == ' ') {
      auto v = line.substr(name.size() + 1);
      uint64_t out = 0;
      auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
      if (ec == std::errc()) return out;
    }
  }
  return std::nullopt;
}

std::optional<uint64_t> read_number(int dir, const char* file) {
  try {
    std::string text = read_file_at(dir, file);
    uint64_t out = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec == std::errc()) return out;
  } catch (const Error&) {
  }
  return std::nullopt;
}

std::string human(uint64_t bytes) {
  if (bytes >= (1ull << 30) && bytes % (1ull << 20) == 0)
    return fmt::format("{:.1f}G", bytes / double(1ull << 30));
  if (bytes >= (1ull << 20)) return fmt::format("{:.1f}M", bytes / double(1ull << 20));
  return fmt::format("{}K", bytes / 1024);
}

}  // namespace

std::optional<uint64_t> oom_kill_count(std::string_view events) {
  return field(events, "oom_kill");
}

void explain_exit(Context& ctx, const std::vector<LiveCgroup>& cgroups,
                  std::optional<uint64_t> memory_max) noexcept {
  try {
    const LiveCgroup* memory = nullptr;
    for (const auto& c : cgroups)
      if (c.controllers.count("memory")) memory = &c;
    if (!memory) return;
    const int dir = memory->dir.get();
    std::optional<uint64_t> kills;
    std::optional<uint64_t> peak;
    if (memory->version == Version::v2) {
      kills = oom_kill_count(read_file_at(dir, "memory.events"));
      peak = read_number(dir, "memory.peak");
    } else {
      kills = oom_kill_count(read_file_at(dir, "memory.oom_control"));
      peak = read_number(dir, "memory.max_usage_in_bytes");
      if (!kills) {
        // Kernels before 4.13 lack the counter: a SIGKILL after the limit was hit and usage peaked
        // at it is the OOM killer's signature.
        auto failcnt = read_number(dir, "memory.failcnt");
        auto limit = read_number(dir, "memory.limit_in_bytes");
        bool sigkill = !ctx.exit.exited && ctx.exit.code == SIGKILL;
        if (sigkill && failcnt && *failcnt > 0 && peak && limit && *peak + (1 << 16) >= *limit)
          kills = 1;
      }
    }
    if (!kills || *kills == 0) return;
    const bool died_of_it =
        (!ctx.exit.exited && ctx.exit.code == SIGKILL) || (ctx.exit.exited && ctx.exit.code == 137);
    std::string limit = memory_max && *memory_max != kUnlimited ? "memory.max " + human(*memory_max)
                                                                : "its memory limit";
    std::string peak_text = peak ? fmt::format(", peak {}", human(*peak)) : "";
    if (died_of_it) {
      ctx.exit.reason = fmt::format("killed by the OOM killer ({} reached{})", limit, peak_text);
      ctx.exit.override_code = 137;
      ctx.log().error("workload killed by the OOM killer: {} reached{} ({} OOM kill(s) in {})",
                      limit, peak_text, *kills, memory->path.string());
    } else {
      ctx.log().warn("{} process(es) of the container were killed by the OOM killer ({} reached{})",
                     *kills, limit, peak_text);
    }
  } catch (const std::exception& e) {
    ctx.log().debug("reading the OOM counters: {}", e.what());
  }
}

}  // namespace modrt::cgroup
