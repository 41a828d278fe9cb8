// Turning a Profile into the BPF program the kernel runs, and loading it. The program is compiled
// on the host before the workload exists; inside the workload, loading it is one system call.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "profile.hpp"

namespace modrt::seccomp {

// A compiled filter: the instructions handed to seccomp(SECCOMP_SET_MODE_FILTER).
struct BpfProgram {
  std::vector<sock_filter> code;
  bool empty() const { return code.empty(); }
};

// libseccomp's filter under construction (scmp_filter_ctx), released on every path.
class SyscallFilter {
 public:
  // Adds the profile's architectures and rules. Throws ConfigError at the offending rule when
  // libseccomp refuses it (a conflicting action for the same call, a bad argument comparison).
  explicit SyscallFilter(const Profile& profile);

  // Generates the BPF program (libseccomp writes it to an fd; we read it back from a memfd).
  // Unless the default action lets calls through, native system calls newer than every call
  // libseccomp knows get ENOSYS instead of the default action: "this kernel has no such call" is
  // what C libraries expect before they fall back to an older one, where EPERM would be final.
  BpfProgram compile() const;

  // The highest native system call number libseccomp has a name for.
  static int newest_known_syscall();

  // Number of rule entries given to libseccomp, for logs.
  size_t rule_count() const { return rules_; }

 private:
  struct Release {
    void operator()(void* ctx) const;
  };
  std::unique_ptr<void, Release> ctx_;
  size_t rules_ = 0;
  bool enosys_for_newer_ = false;
};

// Inside the workload: installs the program for the calling thread. Without no_new_privs this
// needs CAP_SYS_ADMIN. Throws Error with errno.
void load(const BpfProgram& program);

// True when the kernel accepts a SECCOMP_RET_* action (seccomp(SECCOMP_GET_ACTION_AVAIL)).
bool kernel_supports(uint32_t libseccomp_action);

}  // namespace modrt::seccomp
