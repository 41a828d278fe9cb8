// Explaining how the workload ended, from the memory controller's counters.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "cgroup_dirs.hpp"
#include "modrt/context.hpp"

namespace modrt::cgroup {

// "oom_kill N" from v2 memory.events or v1 memory.oom_control; nullopt when the file lacks it.
std::optional<uint64_t> oom_kill_count(std::string_view events);

// Sets ctx.exit.reason and override_code 137 when the OOM killer ended the workload.
void explain_exit(Context& ctx, const std::vector<LiveCgroup>& cgroups,
                  std::optional<uint64_t> memory_max) noexcept;

}  // namespace modrt::cgroup
