#include "time_namespace.hpp"

#include <fcntl.h>
#include <sched.h>

#include <fmt/format.h>

#include "modrt/error.hpp"
#include "modrt/fd.hpp"

namespace modrt::ns {

namespace {

std::string offset_line(const char* clock, std::chrono::nanoseconds offset) {
  constexpr int64_t kNanos = 1'000'000'000;
  int64_t ns = offset.count();
  int64_t secs = ns / kNanos;
  int64_t rest = ns % kNanos;
  if (rest < 0) {  // floor toward -inf so the nanosecond part stays non-negative
    secs -= 1;
    rest += kNanos;
  }
  return fmt::format("{} {} {}\n", clock, secs, rest);
}

}  // namespace

std::string format_offsets(const TimeOffsets& offsets) {
  return offset_line("monotonic", offsets.monotonic) + offset_line("boottime", offsets.boottime);
}

void enter_new_time_namespace(const TimeOffsets& offsets) {
  // The kernel freezes a time namespace's offsets as soon as a process enters it. A clone with
  // CLONE_NEWTIME would enter it at birth, so instead unshare only prepares the namespace for
  // our children, the offsets are written while it is still empty, and setns then moves this
  // process itself in.
  if (::unshare(CLONE_NEWTIME) < 0) throw_errno("create a time namespace");
  with_context("set the time namespace offsets",
               [&] { write_file("/proc/self/timens_offsets", format_offsets(offsets)); });
  UniqueFd ns = open_fd("/proc/self/ns/time_for_children", O_RDONLY);
  if (::setns(ns.get(), CLONE_NEWTIME) < 0) throw_errno("enter the new time namespace");
}

}  // namespace modrt::ns
