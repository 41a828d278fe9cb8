// Filters compiled from profiles, loaded for real in forked children: what each system call gets.
// Loading needs no privilege (no_new_privs is set first), and the filter dies with the child.
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include <gtest/gtest.h>

#include "capabilities.hpp"
#include "filter.hpp"
#include "lockdown_stage.hpp"

namespace modrt::seccomp {
namespace {

constexpr int kOk = 0;

// What happened to one call: kOk, the errno it failed with, or -SIGNAL when it killed the child.
int outcome(const BpfProgram& program, const std::function<long()>& call) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) ::_exit(200);
    try {
      load(program);
    } catch (...) {
      ::_exit(201);
    }
    long rc = call();
    ::_exit(rc >= 0 ? kOk : errno);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return WEXITSTATUS(status);
}

BpfProgram compile(const Profile& profile) {
  return SyscallFilter(profile).compile();
}

Profile from_yaml(const std::string& with) {
  static Config config;
  config = parse_config(
      "name: t\nprocess: {args: [/bin/true]}\nstages:\n  - plugin: seccomp\n"
      "    with: " +
          with + "\n",
      "test.yaml", "/tmp");
  return *parse_options(config.stages[0].with, config).profile;
}

long i386_getpid() {
  long rc = 20;  // getpid in the i386 table
  asm volatile("int $0x80" : "+a"(rc) : : "memory");
  if (rc < 0) errno = static_cast<int>(-rc), rc = -1;
  return rc;
}

long try_mount() {
  // A missing target: if the filter lets it through, the kernel says ENOENT and mounts nothing.
  return ::mount("none", "/nonexistent-modrt-unit", "tmpfs", 0, nullptr);
}

class SeccompDefaultFilter : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    program_ = new BpfProgram(compile(default_profile(default_capabilities())));
  }
  static void TearDownTestSuite() { delete program_; }
  static BpfProgram* program_;
};
BpfProgram* SeccompDefaultFilter::program_ = nullptr;

TEST_F(SeccompDefaultFilter, CompilesToAProgramTheKernelTakes) {
  EXPECT_GT(program_->code.size(), 100u);
  EXPECT_LE(program_->code.size(), 4096u);
  EXPECT_EQ(outcome(*program_, [] { return ::syscall(SYS_getpid); }), kOk);
}

TEST_F(SeccompDefaultFilter, OrdinaryCallsWork) {
  EXPECT_EQ(outcome(*program_, [] { return ::syscall(SYS_getppid); }), kOk);
  EXPECT_EQ(outcome(*program_, [] { return ::syscall(SYS_uname, nullptr); }), EFAULT);
  EXPECT_EQ(outcome(*program_,
                    [] {
                      pid_t child = ::fork();
                      if (child == 0) ::_exit(0);
                      int st;
                      return static_cast<long>(::waitpid(child, &st, 0));
                    }),
            kOk);
  EXPECT_EQ(outcome(*program_, [] { return ::syscall(SYS_personality, 0xffffffffUL); }), kOk);
  EXPECT_EQ(outcome(*program_, [] { return ::syscall(SYS_unshare, CLONE_FILES); }), EPERM)
      << "unshare is one call: allowed only with CAP_SYS_ADMIN kept";
}

TEST_F(SeccompDefaultFilter, DangerousCallsGetEperm) {
  EXPECT_EQ(
      outcome(
          *program_,
          [] { return ::syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0); }),
      EPERM);
  EXPECT_EQ(outcome(*program_,
                    [] {
                      return ::syscall(SYS_add_key, "user", "modrt-unit", "x", 1,
                                       KEY_SPEC_PROCESS_KEYRING);
                    }),
            EPERM);
  EXPECT_EQ(outcome(*program_, [] { return ::syscall(SYS_unshare, CLONE_NEWUSER); }), EPERM);
  EXPECT_EQ(outcome(*program_, try_mount), EPERM);
  EXPECT_EQ(outcome(*program_, [] { return ::syscall(SYS_bpf, -1, nullptr, 0); }), EPERM);
  EXPECT_EQ(
      outcome(*program_, [] { return ::syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0); }),
      EPERM);
  EXPECT_EQ(outcome(*program_, [] { return ::syscall(SYS_userfaultfd, 0); }), EPERM);
  EXPECT_EQ(outcome(*program_, [] { return ::syscall(SYS_setns, -1, 0); }), EPERM);
  EXPECT_EQ(outcome(*program_, [] { return ::syscall(SYS_open_by_handle_at, -1, nullptr, 0); }),
            EPERM);
  // ADDR_NO_RANDOMIZE would switch off address space randomisation.
  EXPECT_EQ(outcome(*program_, [] { return ::syscall(SYS_personality, ADDR_NO_RANDOMIZE); }),
            EPERM);
}

TEST_F(SeccompDefaultFilter, NamespaceFlagsOfCloneAreRefusedAndClone3FallsBack) {
  EXPECT_EQ(outcome(*program_,
                    [] {
                      return ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr,
                                       nullptr, 0);
                    }),
            EPERM);
  EXPECT_EQ(outcome(*program_, [] { return ::syscall(SYS_clone3, nullptr, 0); }), ENOSYS);
}

TEST_F(SeccompDefaultFilter, CallsNewerThanLibseccompGetEnosys) {
  // The next number after the newest call libseccomp knows: on a newer kernel a real call (C
  // libraries fall back on ENOSYS), on an older one nothing; either way not EPERM.
  long next = SyscallFilter::newest_known_syscall() + 1;
  ASSERT_GT(next, 400);
  EXPECT_EQ(outcome(*program_, [next] { return ::syscall(next, 0, 0, 0, 0, 0); }), ENOSYS);
  EXPECT_EQ(outcome(*program_, [] { return ::syscall(999, 0, 0, 0, 0, 0); }), ENOSYS);
  // Known calls keep their rule.
  EXPECT_EQ(outcome(*program_, [] { return ::syscall(SYS_getpid); }), kOk);
  EXPECT_EQ(outcome(*program_, [] { return ::syscall(SYS_setns, -1, 0); }), EPERM);
}

TEST(SeccompFilter, ADefaultThatAllowsLetsNewerCallsThrough) {
  BpfProgram p =
      compile(from_yaml("{default_action: allow, rules: [{names: [getppid], action: kill}]}"));
  long next = SyscallFilter::newest_known_syscall() + 1;
  // Through to the kernel: whatever it says, it is not the filter's ENOSYS... unless the kernel
  // has no such call either; compare with no filter at all.
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(::syscall(next, 0, 0, 0, 0, 0) >= 0 ? 0 : errno);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_EQ(outcome(p, [next] { return ::syscall(next, 0, 0, 0, 0, 0); }), WEXITSTATUS(status));
}

// Whether this kernel runs 32-bit system calls at all (CONFIG_IA32_EMULATION).
bool has_ia32() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(i386_getpid() > 0 ? 0 : 1);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST_F(SeccompDefaultFilter, X32CallsAreKilled) {
  // The filter decides before the kernel looks, so this holds with or without x32 support.
  EXPECT_EQ(outcome(*program_, [] { return ::syscall(0x40000000 | SYS_getpid); }), -SIGSYS);
}

TEST_F(SeccompDefaultFilter, I386CallsAreKilled) {
  if (!has_ia32()) GTEST_SKIP() << "kernel without 32-bit emulation";
  // Native only: a 32-bit call through int 0x80 has other numbers than the filter's x86_64 ones.
  EXPECT_EQ(outcome(*program_, i386_getpid), -SIGSYS);
}

TEST(SeccompFilter, ListedCompatAbiRunsUnderTheSameRules) {
  if (!has_ia32()) GTEST_SKIP() << "kernel without 32-bit emulation";
  BpfProgram both = compile(from_yaml("{architectures: [x86_64, x86]}"));
  EXPECT_EQ(outcome(both, i386_getpid), kOk);
  EXPECT_EQ(outcome(both, [] { return ::syscall(SYS_getpid); }), kOk);
}

TEST(SeccompFilter, SysAdminKeptAllowsMountAndUnshare) {
  BpfProgram admin = compile(default_profile(default_capabilities() | bit(CAP_SYS_ADMIN)));
  EXPECT_EQ(outcome(admin, try_mount), ENOENT);  // through the filter, refused by the kernel
  EXPECT_EQ(outcome(admin, [] { return ::syscall(SYS_unshare, CLONE_NEWUSER); }), kOk);
  EXPECT_EQ(outcome(admin, [] { return ::syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, -1, 0); }),
            EPERM);
}

TEST(SeccompFilter, KillRuleKillsWithSigsys) {
  BpfProgram p = compile(from_yaml("{rules: [{names: [getpid], action: kill}]}"));
  EXPECT_EQ(outcome(p, [] { return ::syscall(SYS_getpid); }), -SIGSYS);
  EXPECT_EQ(outcome(p, [] { return ::syscall(SYS_getppid); }), kOk);
}

TEST(SeccompFilter, TrapRaisesSigsys) {
  BpfProgram p = compile(from_yaml("{rules: [{names: [getppid], action: trap}]}"));
  EXPECT_EQ(outcome(p, [] { return ::syscall(SYS_getppid); }), -SIGSYS);
}

TEST(SeccompFilter, ErrnoValueIsTheOneWritten) {
  BpfProgram p =
      compile(from_yaml("{rules: [{names: [getppid], action: errno(ENOSYS)},"
                        "         {names: [getuid], action: errno(42)}]}"));
  EXPECT_EQ(outcome(p, [] { return ::syscall(SYS_getppid); }), ENOSYS);
  EXPECT_EQ(outcome(p, [] { return ::syscall(SYS_getuid); }), 42);
}

TEST(SeccompFilter, ArgumentFilteredRuleBehavesAsWritten) {
  BpfProgram p = compile(from_yaml(
      "{rules: [{names: [personality], action: allow, args: [{index: 0, op: eq, value: 0}]}]}"));
  EXPECT_EQ(outcome(p, [] { return ::syscall(SYS_personality, 0UL); }), kOk);
  EXPECT_EQ(outcome(p, [] { return ::syscall(SYS_personality, 0xffffffffUL); }), EPERM);
  EXPECT_EQ(outcome(p, [] { return ::syscall(SYS_personality, 8UL); }), EPERM);
}

TEST(SeccompFilter, MaskedEqualityAndOrderedComparisons) {
  BpfProgram p = compile(from_yaml(
      "{default_action: allow, rules: ["
      "  {names: [umask], action: errno(EACCES), args: [{index: 0, op: masked_eq, value: 0o7, "
      "value2: 07}]},"
      "  {names: [getpriority], action: errno(E2BIG), args: [{index: 1, op: gt, value: 100}]}]}"));
  EXPECT_EQ(outcome(p, [] { return static_cast<long>(::syscall(SYS_umask, 0027)); }), EACCES);
  EXPECT_EQ(outcome(p, [] { return static_cast<long>(::syscall(SYS_umask, 0022)); }), kOk);
  EXPECT_EQ(outcome(p, [] { return ::syscall(SYS_getpriority, PRIO_PROCESS, 101); }), E2BIG);
  EXPECT_EQ(outcome(p, [] { return ::syscall(SYS_getpriority, PRIO_PROCESS, 0); }), kOk);
}

TEST(SeccompFilter, CustomAllowlistDeniesTheRest) {
  BpfProgram p = compile(
      from_yaml("{default_action: errno(EPERM), rules: [{names: [execve, exit_group, getpid], "
                "action: allow}]}"));
  EXPECT_EQ(outcome(p, [] { return ::syscall(SYS_getpid); }), kOk);
  EXPECT_EQ(outcome(p, [] { return ::syscall(SYS_getppid); }), EPERM);
}

TEST(SeccompFilter, LogActionLetsTheCallThrough) {
  if (!kernel_supports(SCMP_ACT_LOG)) GTEST_SKIP() << "kernel without SECCOMP_RET_LOG";
  BpfProgram p = compile(from_yaml("{rules: [{names: [getppid], action: log}]}"));
  EXPECT_EQ(outcome(p, [] { return ::syscall(SYS_getppid); }), kOk);
}

}  // namespace
}  // namespace modrt::seccomp
