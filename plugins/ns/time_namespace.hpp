// A new time namespace with clock offsets, entered by the workload itself.
#pragma once

#include <chrono>

namespace modrt::ns {

struct TimeOffsets {
  std::chrono::nanoseconds monotonic{0};
  std::chrono::nanoseconds boottime{0};
};

// The text /proc/PID/timens_offsets takes: "monotonic SECS NANOS" lines, where a negative offset
// has negative seconds and nanoseconds in [0, 1e9).
std::string format_offsets(const TimeOffsets& offsets);

// Inside the workload: creates a time namespace, sets its offsets and moves the calling process
// into it. Must run single-threaded, with CAP_SYS_ADMIN and CAP_SYS_TIME over the current user
// namespace.
void enter_new_time_namespace(const TimeOffsets& offsets);

}  // namespace modrt::ns
