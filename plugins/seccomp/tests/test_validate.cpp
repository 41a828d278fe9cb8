// Bad input is caught by `modrt validate` (exit 2) with the key that is wrong, before anything
// runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lockdown_test.hpp"

namespace modrt::test::seccomp {
namespace {

using ::testing::HasSubstr;

using SeccompValidateTest = LockdownTest;

Container with(const std::string& seccomp_with) {
  Container c;
  c.args = {"/bin/true"};
  c.seccomp_with = seccomp_with;
  return c;
}

TEST_F(SeccompValidateTest, AGoodConfigValidates) {
  Result r =
      validate(with("{profile: default, capabilities: {add: [NET_ADMIN]}, "
                    "rlimits: {nofile: 1024}, rules: [{names: [getpid], action: log}]}"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(SeccompValidateTest, UnknownSyscall) {
  Container c = with("{rules: [{names: [getpid, frobnicate], action: kill}]}");
  for (const char* verb : {"validate", "run"}) {
    Result r = modrt.run({verb, "-c", write_config(c)});
    EXPECT_EQ(r.exit_code, 2) << verb << ": " << r.err;
    EXPECT_THAT(r.err,
                HasSubstr("stages[2].with.rules[0].names[1]: unknown system call 'frobnicate'"));
  }
}

TEST_F(SeccompValidateTest, UnknownCapability) {
  Result r = validate(with("{capabilities: {drop: [NET_WIZARD]}}"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err,
              HasSubstr("stages[2].with.capabilities.drop[0]: unknown capability 'NET_WIZARD'"));
}

TEST_F(SeccompValidateTest, BadAction) {
  Result r = validate(with("{rules: [{names: [getpid], action: deny}]}"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("stages[2].with.rules[0].action: unknown action 'deny'"));
  r = validate(with("{default_action: errno(EWHATEVER)}"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("stages[2].with.default_action: unknown action 'errno(EWHATEVER)'"));
}

TEST_F(SeccompValidateTest, UnknownRlimit) {
  Result r = validate(with("{rlimits: {open_files: 10}}"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("stages[2].with.rlimits.open_files: unknown resource limit"));
}

TEST_F(SeccompValidateTest, ProfileThatForbidsExec) {
  Result r =
      validate(with("{default_action: kill, rules: [{names: [read, write], action: allow}]}"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("gives execve the action kill"));
}

TEST_F(SeccompValidateTest, SeccompBeforeFs) {
  std::string yaml = "name: " + unique_name("sc") +
                     "\nprocess: {args: [/bin/true]}\nstages:\n"
                     "  - plugin: ns\n    with: {namespaces: [mount]}\n"
                     "  - plugin: seccomp\n"
                     "  - plugin: fs\n    with: {rootfs: " +
                     busybox_rootfs() + "}\n";
  Result r = modrt.run({"validate", "-c", dir.write("order.yaml", yaml)});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err,
              HasSubstr("the seccomp stage (stages[1]) must come after the fs stage (stages[2])"));
}

}  // namespace
}  // namespace modrt::test::seccomp
