// Creating the workload and the little protocol on its sync socket.
//
// The parent clones the workload, which blocks reading one byte from the socket. The parent runs
// every apply_host, then writes "G". The workload runs every apply_workload and execs; the socket
// is close-on-exec, so the parent reading EOF means the exec happened. On the way the workload may
// send its own timings ('T' message) and at most one error ('E' message) before it exits.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "modrt/fd.hpp"

namespace modrt {

struct Cloned {
  pid_t pid = -1;  // 0 in the workload
  UniqueFd pidfd;
  bool joined_cgroup = false;  // CLONE_INTO_CGROUP took effect
};

// clone3(flags | CLONE_PIDFD [| CLONE_INTO_CGROUP]), falling back to clone() where clone3 is
// missing or refuses the cgroup. Returns in both processes, like fork().
Cloned clone_workload(uint64_t namespace_flags, int cgroup_fd);

struct WorkloadError {
  std::string stage;
  std::string phase;
  int error_code = 0;
  std::string message;
};

struct WorkloadTiming {
  std::string stage;
  std::string phase;
  std::chrono::nanoseconds duration{0};
};

// Messages the workload sends; the parent collects them until EOF.
void send_error(int sync_fd, const WorkloadError& error) noexcept;
void send_timings(int sync_fd, const std::vector<WorkloadTiming>& timings) noexcept;

struct WorkloadReport {
  std::optional<WorkloadError> error;
  std::vector<WorkloadTiming> timings;
};
// Reads messages until EOF (exec happened, or the workload died). Throws on a read error.
WorkloadReport read_report(int sync_fd);

}  // namespace modrt
