// The syscall filter in real containers: the default profile, kill rules, argument filters,
// profile files, and `profile: none` beside them.
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lockdown_test.hpp"

namespace modrt::test::seccomp {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using SeccompFilterTest = LockdownTest;

TEST_F(SeccompFilterTest, DefaultProfileRefusesNamespacesMountsAndKeyringsWithEperm) {
  Result r =
      sh("grep Seccomp: /proc/self/status;"
         "unshare -r true; echo unshare=$?;"
         "mount -t tmpfs none /tmp; echo mount=$?;"
         "/probe unshare-user; /probe mount; /probe keyctl; /probe add_key; /probe bpf;"
         "/probe perf_event_open; /probe userfaultfd; /probe setns; /probe clone3; true");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Seccomp:\t2"));
  EXPECT_THAT(r.out, HasSubstr("unshare=1"));
  EXPECT_THAT(r.err, HasSubstr("unshare(0x10000000): Operation not permitted"));
  EXPECT_THAT(r.out, HasSubstr("mount=1"));
  for (const char* call : {"unshare-user", "mount", "keyctl", "add_key", "bpf", "perf_event_open",
                           "userfaultfd", "setns"})
    EXPECT_THAT(r.out, HasSubstr(std::string(call) + ": EPERM")) << call;
  // clone3 cannot be checked by a filter; ENOSYS sends the C library back to clone.
  EXPECT_THAT(r.out, HasSubstr("clone3: ENOSYS"));
}

TEST_F(SeccompFilterTest, WithoutAFilterTheSameCallsGoThrough) {
  Result r = sh("grep Seccomp: /proc/self/status; /probe keyctl; /probe unshare-user; /probe bpf",
                "{profile: none}");
  ASSERT_EQ(r.exit_code, 1) << r.err;  // bpf(-1) fails with EINVAL: through to the kernel
  EXPECT_THAT(r.out, HasSubstr("Seccomp:\t0"));
  EXPECT_THAT(r.out, HasSubstr("keyctl: ok"));
  EXPECT_THAT(r.out, HasSubstr("unshare-user: ok"));
  EXPECT_THAT(r.out, HasSubstr("bpf: EINVAL"));
}

TEST_F(SeccompFilterTest, DefaultProfileRunsOrdinaryPrograms) {
  // ls, sh and a web server, fetched over the host's loopback from inside the container.
  std::string port = std::to_string(20000 + ::getpid() % 20000);
  Result r =
      sh("ls / >/dev/null && echo ls-ok;"
         "httpd -p 127.0.0.1:" +
         port +
         " -h /www && echo httpd-started;"
         "for i in $(seq 1 100); do wget -q -O - http://127.0.0.1:" +
         port +
         "/ && break; sleep 0.05; done;"
         "/probe fork; /probe getpid");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("ls-ok"));
  EXPECT_THAT(r.out, HasSubstr("httpd-started"));
  EXPECT_THAT(r.out, HasSubstr("hello from modrt"));
  EXPECT_THAT(r.out, HasSubstr("fork: ok"));
  EXPECT_THAT(r.out, HasSubstr("getpid: ok"));
}

TEST_F(SeccompFilterTest, KillRuleKillsTheWorkloadWithSigsys) {
  Container c;
  c.args = {"/probe", "getpid"};
  c.seccomp_with = "{rules: [{names: [getpid], action: kill}]}";
  Result r = run(c);
  EXPECT_EQ(r.exit_code, 159) << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr("getpid: ok")));
  EXPECT_THAT(r.err, HasSubstr("killed by SIGSYS"));
  EXPECT_THAT(r.err, HasSubstr("seccomp profile 'default (refined)'"));
}

TEST_F(SeccompFilterTest, KillRuleWorksWithoutOtherStages) {
  Container c;
  c.rootfs = false;
  c.args = {host_probe(), "getpid"};
  c.seccomp_with = "{rules: [{names: [getpid], action: kill}]}";
  Result r = run(c);
  EXPECT_EQ(r.exit_code, 159) << r.err;
  EXPECT_THAT(r.err, HasSubstr("killed by SIGSYS"));

  c.args = {host_probe(), "keyctl"};
  r = run(c);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("keyctl: EPERM"));
}

TEST_F(SeccompFilterTest, ArgumentFilteredRuleBehavesAsWritten) {
  // personality only with arg0 == 0; the default profile also allows 8 (linux32) and a query.
  std::string with =
      "{rules: [{names: [personality], action: allow, args: [{index: 0, op: eq, value: 0}]}]}";
  Result r =
      sh("/probe personality 0; /probe personality 8; /probe personality 0xffffffff;"
         "linux32 true; echo linux32=$?",
         with);
  EXPECT_THAT(r.out, HasSubstr("personality: ok"));
  EXPECT_THAT(r.out, HasSubstr("personality: EPERM"));
  EXPECT_EQ(r.out.find("personality: ok"), r.out.rfind("personality: ok")) << r.out;
  EXPECT_THAT(r.out, HasSubstr("linux32=1"));

  r = sh("/probe personality 8; linux32 true; echo linux32=$?");
  EXPECT_THAT(r.out, HasSubstr("personality: ok"));
  EXPECT_THAT(r.out, HasSubstr("linux32=0"));
}

TEST_F(SeccompFilterTest, ProfileFileInTheConfigFolder) {
  dir.write("profile.yaml",
            "# allow everything but the keyring, which answers ENOSYS\n"
            "default_action: allow\n"
            "rules:\n"
            "  - names: [keyctl, add_key, request_key]\n"
            "    action: errno(ENOSYS)\n");
  Result r =
      sh("/probe keyctl; /probe add_key; /probe unshare-user; grep Seccomp: /proc/self/status",
         "{profile: ./profile.yaml}");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("keyctl: ENOSYS"));
  EXPECT_THAT(r.out, HasSubstr("add_key: ENOSYS"));
  EXPECT_THAT(r.out, HasSubstr("unshare-user: ok"));
  EXPECT_THAT(r.out, HasSubstr("Seccomp:\t2"));
}

TEST_F(SeccompFilterTest, StrictAllowlistWithWhatTheCoreNeedsAfterTheStage) {
  // What runs under the filter: the core's last steps (send its timings, chdir, execve; malloc
  // between them) and the static probe's C library start-up. The README lists the core's part.
  std::string core = "execve, chdir, sendto, close_range, brk, mmap, munmap, mprotect, exit_group";
  std::string probe_libc =
      "arch_prctl, set_tid_address, set_robust_list, rseq, prlimit64, "
      "readlink, getrandom, write";
  dir.write("strict.yaml",
            "default_action: kill\n"
            "rules:\n"
            "  - names: [" +
                core + ", " + probe_libc +
                ", getpid]\n"
                "    action: allow\n");
  Container c;
  c.args = {"/probe", "getpid"};
  c.seccomp_with = "{profile: ./strict.yaml}";
  Result r = run(c);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("getpid: ok"));

  c.args = {"/probe", "keyctl"};
  r = run(c);
  EXPECT_EQ(r.exit_code, 159) << r.err;
  EXPECT_THAT(r.err, HasSubstr("strict.yaml' kills or traps"));
}

TEST_F(SeccompFilterTest, CompiledFiltersAreCachedAcrossRuns) {
  Container c;
  c.args = {"/probe", "keyctl"};
  std::string config = write_config(c);
  Result first = modrt.run({"--log-level", "debug", "run", "-c", config});
  Result second = modrt.run({"--log-level", "debug", "run", "-c", config});
  EXPECT_THAT(first.out, HasSubstr("keyctl: EPERM"));
  EXPECT_THAT(second.out, HasSubstr("keyctl: EPERM"));
  EXPECT_THAT(first.err, Not(HasSubstr("from the cache")));
  EXPECT_THAT(second.err, HasSubstr("from the cache"));
  EXPECT_TRUE(std::filesystem::is_directory(modrt.state_root() / ".seccomp"));
}

TEST_F(SeccompFilterTest, CacheFalseCompilesEveryTime) {
  Container c;
  c.args = {"/probe", "keyctl"};
  c.seccomp_with = "{cache: false}";
  std::string config = write_config(c);
  for (int i = 0; i < 2; ++i) {
    Result r = modrt.run({"--log-level", "debug", "run", "-c", config});
    EXPECT_THAT(r.out, HasSubstr("keyctl: EPERM"));
    EXPECT_THAT(r.err, Not(HasSubstr("from the cache")));
  }
  EXPECT_FALSE(std::filesystem::exists(modrt.state_root() / ".seccomp"));
}

TEST_F(SeccompFilterTest, OtherAbisAreKilledUnlessListed) {
  if (test::run({host_probe(), "i386-getpid"}).exit_code != 0)
    GTEST_SKIP() << "kernel without 32-bit emulation";
  Container c;
  c.args = {"/probe", "i386-getpid"};
  Result r = run(c);
  EXPECT_EQ(r.exit_code, 159) << r.err;

  c.seccomp_with = "{architectures: [x86_64, x86]}";
  r = run(c);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("i386-getpid: ok"));
}

TEST_F(SeccompFilterTest, WithoutNoNewPrivsTheFilterIsLoadedBeforeCapabilitiesGo) {
  Result r =
      sh("grep -E 'NoNewPrivs|Seccomp:' /proc/self/status; /probe keyctl", "{no_new_privs: false}");
  EXPECT_THAT(r.out, HasSubstr("NoNewPrivs:\t0"));
  EXPECT_THAT(r.out, HasSubstr("Seccomp:\t2"));
  EXPECT_THAT(r.out, HasSubstr("keyctl: EPERM"));
}

}  // namespace
}  // namespace modrt::test::seccomp
