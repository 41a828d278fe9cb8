// Taking a container's cgroups down, from the ledger alone (so `modrt gc` can do it after a
// crash): kill what is left inside, wait until empty, remove, then the parents it made.
#pragma once

#include <chrono>

#include "modrt/context.hpp"

namespace modrt::cgroup {

// How long rollback waits for killed tasks to leave their cgroups before giving up on one.
inline constexpr std::chrono::milliseconds kEmptyTimeout{5000};

// Tries every entry of the ledger: kills what runs in the container's own cgroups (only those:
// their names prove this run made them), removes them, then the parents this run made or shared
// when empty. Forgets each entry it undid or found gone; throws Error naming the ones it could
// not undo, which stay in the ledger for `modrt gc` to retry.
void remove_cgroups(Context& ctx);

}  // namespace modrt::cgroup
