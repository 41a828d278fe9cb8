// The built-in `default` profile. The list follows what the well-known container engines allow by
// default: everything an ordinary program needs, nothing that reaches past the container (kernel
// modules, kexec, the kernel keyring, bpf, perf events, userfaultfd, file handles, new namespaces
// and mounts). A few groups become legitimate when the capability that guards them in the kernel
// is kept, so `capabilities: {add: [SYS_ADMIN]}` does not need a second, hand-written profile.
#include <linux/capability.h>
#include <sched.h>

#include <algorithm>
#include <array>
#include <string_view>

#include "profile.hpp"

namespace modrt::seccomp {

namespace {

// Allowed whatever the capabilities. The 32-bit names (chown32, _llseek, socketcall, ...) matter
// when a config lists the x86 ABI in `architectures`.
// clang-format off
constexpr std::string_view kAllowed[] = {
    "accept", "accept4", "access", "adjtimex", "alarm", "arch_prctl", "bind", "brk", "cachestat",
    "capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
    "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
    "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
    "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
    "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
    "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
    "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
    "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
    "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
    "futex_wake", "futimesat", "get_robust_list", "get_thread_area", "getcpu", "getcwd", "getdents",
    "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
    "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid",
    "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit",
    "getrusage", "getsid", "getsockname", "getsockopt", "gettid", "gettimeofday", "getuid",
    "getuid32", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
    "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents",
    "io_pgetevents_time64", "io_setup", "io_submit", "ioctl", "ioprio_get", "ioprio_set", "ipc",
    "kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
    "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek",
    "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack",
    "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat",
    "mlock", "mlock2", "mlockall", "mmap", "mmap2", "modify_ldt", "mprotect", "mq_getsetattr",
    "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
    "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync",
    "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect",
    "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
    "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64",
    "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "ptrace",
    "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv",
    "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr",
    "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction",
    "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
    "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_get_priority_max",
    "sched_get_priority_min", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
    "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
    "seccomp", "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
    "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "set_robust_list", "set_thread_area",
    "set_tid_address", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
    "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32",
    "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit",
    "setsid", "setsockopt", "setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget",
    "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socket",
    "socketcall", "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statx",
    "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time",
    "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
    "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
    "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
    "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64",
    "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
};
// clang-format on

struct Guarded {
  int capability;
  std::array<std::string_view, 20> names;  // unused slots stay empty
};

// Allowed only when the capability that the kernel checks for them is kept: then the filter adds
// nothing to what the capability already decides.
constexpr Guarded kGuarded[] = {
    {CAP_SYS_ADMIN,
     {"bpf", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie", "mount",
      "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd",
      "setdomainname", "sethostname", "setns", "umount", "umount2"}},
    {CAP_SYS_ADMIN, {"unshare", "pivot_root", "clone", "clone3"}},
    {CAP_SYS_BOOT, {"reboot"}},
    {CAP_SYS_CHROOT, {"chroot"}},
    {CAP_SYS_MODULE, {"init_module", "finit_module", "delete_module"}},
    {CAP_SYS_PACCT, {"acct"}},
    {CAP_SYS_PTRACE,
     {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev"}},
    {CAP_SYS_RAWIO, {"iopl", "ioperm"}},
    {CAP_SYS_TIME, {"settimeofday", "stime", "clock_settime", "clock_settime64"}},
    {CAP_SYS_TTY_CONFIG, {"vhangup"}},
    {CAP_SYS_NICE, {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}},
    {CAP_SYSLOG, {"syslog"}},
    {CAP_DAC_READ_SEARCH, {"open_by_handle_at"}},
    {CAP_BPF, {"bpf"}},
    {CAP_PERFMON, {"perf_event_open"}},
};

// Namespace-creating clone flags: without CAP_SYS_ADMIN, clone may run with none of them.
constexpr uint64_t kNewNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |
                                        CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

bool known(std::string_view name) {
  return ::seccomp_syscall_resolve_name(std::string(name).c_str()) != __NR_SCMP_ERROR;
}

}  // namespace

Profile default_profile(uint64_t kept) {
  Profile profile;
  profile.label = "default";
  profile.default_action = Action::fail_with(EPERM);

  Rule allowed{.names = {}, .action = Action::allow(), .args = {}, .source = {}};
  for (auto name : kAllowed) allowed.names.emplace_back(name);
  for (const auto& group : kGuarded) {
    if (!(kept & (uint64_t{1} << group.capability))) continue;
    for (auto name : group.names) {
      if (name.empty()) continue;
      if (std::find(allowed.names.begin(), allowed.names.end(), name) == allowed.names.end())
        allowed.names.emplace_back(name);
    }
  }
  profile.rules.push_back(std::move(allowed));

  if (!(kept & (uint64_t{1} << CAP_SYS_ADMIN))) {
    // clone's flags are a register and can be checked; clone3 passes them in memory, which a
    // seccomp filter cannot read, so it gets ENOSYS and the C library falls back to clone.
    profile.rules.push_back({.names = {"clone"},
                             .action = Action::allow(),
                             .args = {{0, SCMP_CMP_MASKED_EQ, kNewNamespaceFlags, 0}},
                             .source = {}});
    profile.rules.push_back(
        {.names = {"clone3"}, .action = Action::fail_with(ENOSYS), .args = {}, .source = {}});
  }
  // personality: the plain Linux personality, the 32-bit one (setarch linux32), UNAME26 and a
  // query; not the flags that weaken address space randomisation (ADDR_NO_RANDOMIZE,
  // READ_IMPLIES_EXEC).
  for (uint64_t persona : {0x0ULL, 0x8ULL, 0x20000ULL, 0x20008ULL, 0xffffffffULL})
    profile.rules.push_back({.names = {"personality"},
                             .action = Action::allow(),
                             .args = {{0, SCMP_CMP_EQ, persona, 0}},
                             .source = {}});
  return profile;
}

std::vector<std::string> default_profile_unknown_names() {
  std::vector<std::string> out;
  for (auto name : kAllowed)
    if (!known(name)) out.emplace_back(name);
  for (const auto& group : kGuarded)
    for (auto name : group.names)
      if (!name.empty() && !known(name)) out.emplace_back(name);
  return out;
}

}  // namespace modrt::seccomp
