// no_new_privs and resource limits as the workload sees them, and a limit that cannot be set.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lockdown_test.hpp"

namespace modrt::test::seccomp {
namespace {

using ::testing::HasSubstr;

using SeccompLimitsTest = LockdownTest;

TEST_F(SeccompLimitsTest, NoNewPrivsIsOnByDefault) {
  Result r = sh("grep NoNewPrivs /proc/self/status");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("NoNewPrivs:\t1"));
}

TEST_F(SeccompLimitsTest, NoNewPrivsCanBeLeftOff) {
  Result r = sh("grep NoNewPrivs /proc/self/status", "{profile: none, no_new_privs: false}");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("NoNewPrivs:\t0"));
}

TEST_F(SeccompLimitsTest, RlimitsAreVisibleInProcLimits) {
  Result r =
      sh("cat /proc/self/limits",
         "{rlimits: {nofile: {soft: 1024, hard: 4096}, core: 0, nproc: {soft: 500, hard: 600},"
         " memlock: 1M, fsize: {soft: 64M, hard: unlimited}}}");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(limit_line(r.out, "Max open files"),
            std::make_pair(std::string("1024"), std::string("4096")));
  EXPECT_EQ(limit_line(r.out, "Max core file size"),
            std::make_pair(std::string("0"), std::string("0")));
  EXPECT_EQ(limit_line(r.out, "Max processes"),
            std::make_pair(std::string("500"), std::string("600")));
  EXPECT_EQ(limit_line(r.out, "Max locked memory"),
            std::make_pair(std::string("1048576"), std::string("1048576")));
  EXPECT_EQ(limit_line(r.out, "Max file size"),
            std::make_pair(std::string("67108864"), std::string("unlimited")));
}

TEST_F(SeccompLimitsTest, TheWorkloadIsHeldToItsLimit) {
  // nofile 6: descriptors 0..5 can exist, the sixth open fails.
  Container c;
  c.args = {"/probe", "open-many"};
  c.seccomp_with = "{rlimits: {nofile: 6}}";
  Result r = run(c);
  EXPECT_THAT(r.out, HasSubstr("highest fd 5\nopen-many: EMFILE")) << r.err;
}

TEST_F(SeccompLimitsTest, ALimitAboveWhatTheKernelAllowsFailsTheRunAndRollsBack) {
  // Beyond fs.nr_open no one may raise nofile, root included.
  Result r = sh("echo should-not-run", "{rlimits: {nofile: {soft: 1024, hard: 4000000000}}}");
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("should-not-run")));
  EXPECT_THAT(r.err, HasSubstr("stage 'seccomp': apply_host: rlimits: raise rlimit nofile"));
  EXPECT_THAT(r.err, HasSubstr("Operation not permitted"));
}

}  // namespace
}  // namespace modrt::test::seccomp
