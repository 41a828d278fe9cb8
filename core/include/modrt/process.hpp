// Steps of turning the workload into process.args that more than one stage may need to order.
#pragma once

#include <functional>

#include "modrt/context.hpp"

namespace modrt {

// Inside the workload: setgroups(additional_gids), setgid, setuid from ctx.process.user. Runs once:
// the core calls it right before the executor unless a stage already did (the seccomp stage calls
// it between dropping the bounding set and raising the final capability sets, the order runc uses).
void switch_user(Context& ctx);

// Inside the workload: the kernel clears the parent-death signal at every credential change
// (setuid, setgid, setresuid, ...), after which the workload would outlive a killed modrt. Call
// this right after any such change; it sets the signal again and ends the process at once if modrt
// died in between. switch_user() calls it itself.
void keep_parent_death_signal();

// Host side: runs fn on a short-lived thread that has joined the namespace behind ns_fd (setns), so
// the calling thread never changes namespace. Exceptions from fn are rethrown here.
void run_in_namespace(int ns_fd, int ns_type, const std::function<void()>& fn);

// Opens /proc/PID/ns/<kind> of the workload (e.g. "net"), O_CLOEXEC.
UniqueFd open_namespace(pid_t pid, const char* kind);

}  // namespace modrt
