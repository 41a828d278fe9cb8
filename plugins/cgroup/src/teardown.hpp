// Taking a container's cgroups down, from the ledger alone (so `modrt gc` can do it after a
// crash): kill what is left inside, wait until empty, remove, then the parents it made.
#pragma once

#include <chrono>

#include "modrt/context.hpp"

namespace modrt::cgroup {

// How long rollback waits for killed tasks to leave their cgroups before giving up on one.
inline constexpr std::chrono::milliseconds kEmptyTimeout{5000};

void remove_cgroups(Context& ctx) noexcept;

}  // namespace modrt::cgroup
