#include "spawn.hpp"

#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "modrt/error.hpp"

namespace modrt {

Cloned clone_workload(uint64_t namespace_flags, int cgroup_fd) {
  Cloned result;
  int pidfd = -1;
  clone_args args{};
  args.flags = namespace_flags | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  if (cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
  }
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0 && cgroup_fd >= 0 && errno != ENOSYS) {
    // The cgroup may refuse direct placement (a v2 cgroup on a hybrid host with threaded or domain
    // constraints); clone without it, the caller then writes cgroup.procs.
    args.flags &= ~static_cast<uint64_t>(CLONE_INTO_CGROUP);
    args.cgroup = 0;
    pid = ::syscall(SYS_clone3, &args, sizeof args);
  } else if (pid >= 0 && cgroup_fd >= 0) {
    result.joined_cgroup = true;
  }
  if (pid < 0 && errno == ENOSYS) {
    // Kernels before 5.3: the raw clone syscall, which reports the pidfd through parent_tid.
    pid = ::syscall(SYS_clone, (namespace_flags | CLONE_PIDFD | SIGCHLD), nullptr, &pidfd, nullptr,
                    0);
    result.joined_cgroup = false;
  }
  if (pid < 0) throw_errno("clone the workload (flags {:#x})", namespace_flags);
  result.pid = static_cast<pid_t>(pid);
  if (pid > 0) result.pidfd = UniqueFd(pidfd);
  return result;
}

namespace {

void send_message(int fd, const std::string& message) noexcept {
  // SOCK_SEQPACKET: one send is one message; a vanished parent (EPIPE) is nothing to report to.
  (void)!::send(fd, message.data(), message.size(), MSG_NOSIGNAL);
}

std::vector<std::string> split_fields(const std::string& text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t end = text.find(sep, start);
    out.push_back(text.substr(start, end - start));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

}  // namespace

void send_error(int sync_fd, const WorkloadError& error) noexcept {
  try {
    std::string msg = "E";
    msg += error.stage + '\0' + error.phase + '\0' + std::to_string(error.error_code) + '\0' +
           error.message;
    send_message(sync_fd, msg);
  } catch (...) {
  }
}

void send_step(int sync_fd, const std::string& stage, const std::string& phase) noexcept {
  try {
    send_message(sync_fd, "S" + stage + '\t' + phase);
  } catch (...) {
  }
}

void send_ready(int sync_fd, const std::vector<WorkloadTiming>& timings) noexcept {
  try {
    std::string msg = "R";
    for (const auto& t : timings)
      msg += t.stage + '\t' + t.phase + '\t' + std::to_string(t.duration.count()) + '\n';
    send_message(sync_fd, msg);
  } catch (...) {
  }
}

WorkloadReport read_report(int sync_fd) {
  WorkloadReport report;
  std::string buf(65536, '\0');
  for (;;) {
    ssize_t n = ::recv(sync_fd, buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ECONNRESET) return report;
      throw_errno("read from the workload's sync socket");
    }
    if (n == 0) return report;
    std::string msg(buf.data(), static_cast<size_t>(n));
    if (msg[0] == 'E') {
      auto fields = split_fields(msg.substr(1), '\0');
      WorkloadError error;
      if (fields.size() >= 4) {
        error.stage = fields[0];
        error.phase = fields[1];
        error.error_code = std::atoi(fields[2].c_str());
        error.message = fields[3];
      } else {
        error.message = "malformed error report from the workload";
      }
      report.error = std::move(error);
    } else if (msg[0] == 'S') {
      auto f = split_fields(msg.substr(1), '\t');
      if (f.size() == 2) {
        report.stage = f[0];
        report.phase = f[1];
      }
    } else if (msg[0] == 'R') {
      report.ready = true;
      for (const auto& line : split_fields(msg.substr(1), '\n')) {
        auto f = split_fields(line, '\t');
        if (f.size() == 3)
          report.timings.push_back(
              {f[0], f[1], std::chrono::nanoseconds(std::atoll(f[2].c_str()))});
      }
    }
  }
}

}  // namespace modrt
