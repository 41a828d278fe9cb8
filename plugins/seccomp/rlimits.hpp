// Resource limits (setrlimit/prlimit) by name: `rlimits: {nofile: {soft: 1024, hard: 4096}}`.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "modrt/config.hpp"

namespace modrt::seccomp {

struct RlimitSetting {
  std::string name;  // "nofile"
  int resource = 0;  // RLIMIT_NOFILE
  // A missing side keeps the value the workload inherited (checked against the other at apply).
  std::optional<rlim_t> soft;
  std::optional<rlim_t> hard;
};

// Reads the `rlimits` map. Names: as, core, cpu, data, fsize, locks, memlock, msgqueue, nice,
// nofile, nproc, rss, rtprio, rttime, sigpending, stack (an RLIMIT_ prefix and any case are
// accepted). A value is a number, "unlimited", a size (64M) for the limits counted in bytes, or a
// map {soft, hard}; a plain value sets both.
std::vector<RlimitSetting> parse_rlimits(const ConfigNode& node);

// Host side: raises the limits of `pid` that the config sets higher than they are, and lowers
// nothing. Inside a user namespace the workload could not raise them itself (that takes
// CAP_SYS_RESOURCE in the initial namespace); lowering must wait until the other stages are done,
// since their own setup (receiving descriptors, say) counts against the limits too.
void raise_rlimits(pid_t pid, const std::vector<RlimitSetting>& limits);

// Sets the exact limits of `pid` (0: the caller). Throws Error naming the limit.
void apply_rlimits(pid_t pid, const std::vector<RlimitSetting>& limits);

// "unlimited" or the number.
std::string format_limit(rlim_t value);

}  // namespace modrt::seccomp
