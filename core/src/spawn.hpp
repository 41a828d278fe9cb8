// Creating the workload and the little protocol on its sync socket.
//
// The parent clones the workload, which blocks reading one byte from the socket. The parent runs
// every apply_host, then writes "G". The workload names each step before it starts it ('S'), runs
// every apply_workload and, right before the exec, says it is ready ('R', with its timings); the
// socket is close-on-exec, so EOF after 'R' means the exec happened. A failure it can report is one
// 'E' message. EOF with neither 'R' nor 'E' means the setup died where the last 'S' says.
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

// Inside the workload, first thing: keep_parent_death_signal() (modrt/process.hpp) then checks
// this socket for a modrt that died.
void watch_parent(int sync_fd);

// Messages the workload sends; the parent collects them until EOF.
void send_step(int sync_fd, const std::string& stage, const std::string& phase) noexcept;
void send_error(int sync_fd, const WorkloadError& error) noexcept;
void send_ready(int sync_fd, const std::vector<WorkloadTiming>& timings) noexcept;

struct WorkloadReport {
  bool ready = false;  // 'R' arrived: what follows EOF is the exec
  std::optional<WorkloadError> error;
  std::vector<WorkloadTiming> timings;
  std::string stage = "core";  // the last step the workload started
  std::string phase = "start";
};
// Reads messages until EOF (exec happened, or the workload died). Throws on a read error.
WorkloadReport read_report(int sync_fd);

}  // namespace modrt
