// The supervisor: exit codes, signals in both directions, standard streams, terminals.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include "modrt_test.hpp"

namespace modrt::test {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class SuperviseTest : public HostLeakTest {
 protected:
  // A config with one fault stage (logging nowhere): the workload runs host binaries.
  std::string config(const std::string& name, const std::string& process_extra = "") {
    return dir.write(name + ".yaml", "name: " + name + "\nprocess: {args: [/bin/true]" +
                                         process_extra + "}\nstages:\n  - plugin: fault1\n");
  }
};

TEST_F(SuperviseTest, ExitCodePropagates) {
  std::string cfg = config(unique_name("exit"));
  EXPECT_EQ(modrt.run({"run", "-c", cfg, "--", "/bin/sh", "-c", "exit 7"}).exit_code, 7);
  EXPECT_EQ(modrt.run({"run", "-c", cfg, "--", "/bin/false"}).exit_code, 1);
  EXPECT_EQ(modrt.run({"run", "-c", cfg}).exit_code, 0);
}

TEST_F(SuperviseTest, DeathBySignalIs128PlusN) {
  std::string cfg = config(unique_name("sig"));
  EXPECT_EQ(modrt.run({"run", "-c", cfg, "--", "/bin/sh", "-c", "kill -KILL $$"}).exit_code, 137);
  EXPECT_EQ(modrt.run({"run", "-c", cfg, "--", "/bin/sh", "-c", "kill -TERM $$"}).exit_code, 143);
}

TEST_F(SuperviseTest, CommandNotFoundIs127AndNotExecutableIs126) {
  std::string cfg = config(unique_name("exec"));
  Result missing = modrt.run({"run", "-c", cfg, "--", "no-such-command"});
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_THAT(missing.err, HasSubstr("exec 'no-such-command'"));
  std::string plain = dir.write("plain-file", "not a program\n");  // mode 0644
  Result not_exec = modrt.run({"run", "-c", cfg, "--", plain});
  EXPECT_EQ(not_exec.exit_code, 126);
  EXPECT_THAT(not_exec.err, HasSubstr("Permission denied"));
}

TEST_F(SuperviseTest, StreamsPassThrough) {
  std::string cfg = config(unique_name("io"));
  Result r =
      modrt.run({"run", "-c", cfg, "--", "/bin/sh", "-c", "read x; echo out:$x; echo err:$x >&2"},
                60s, "hello\n");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "out:hello\n");
  EXPECT_THAT(r.err, HasSubstr("err:hello\n"));
}

TEST_F(SuperviseTest, EnvCwdAndCommandOverrides) {
  std::string cfg = config(unique_name("env"), ", env: [A=1, B=2], cwd: /tmp");
  Result r = modrt.run(
      {"run", "-c", cfg, "-e", "B=3", "-e", "C=4", "--", "/bin/sh", "-c", "echo $A$B$C; pwd"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "134\n/tmp\n");
}

TEST_F(SuperviseTest, ForwardedSignalsReachTheWorkload) {
  std::string cfg = config(unique_name("fwd"));
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGQUIT}) {
    std::string script = "trap 'echo got; exit 42' " + std::to_string(sig) +
                         "; echo ready; while :; do sleep 0.05; done";
    Background run(modrt.argv({"run", "-c", cfg, "--", "/bin/sh", "-c", script}));
    ASSERT_TRUE(wait_until([&] { return run.output().find("ready") != std::string::npos; }));
    run.signal(sig);
    Result r = run.wait();
    EXPECT_EQ(r.exit_code, 42) << "signal " << sig << ": " << r.err;
    EXPECT_EQ(r.out, "ready\ngot\n");
  }
}

TEST_F(SuperviseTest, TerminalGivesTheWorkloadAPty) {
  std::string cfg = config(unique_name("tty"), ", terminal: true");
  Result r = modrt.run({"run", "-c", cfg, "--", "/bin/sh", "-c",
                        "test -t 0 && test -t 1 && tty && echo TERM=$TERM"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("/dev/pts/"));
  EXPECT_THAT(r.out, HasSubstr("TERM=xterm"));
}

TEST_F(SuperviseTest, OnlyTheStandardStreamsReachTheWorkload) {
  std::string cfg = config(unique_name("fds"));
  // modrt's caller leaks fd 7 (no close-on-exec) into modrt; the workload must not get it.
  Result r = test::run({"/bin/sh", "-c", "exec 7</dev/null; exec \"$0\" \"$@\"", modrt_binary(),
                        "--root", modrt.state_root().string(), "--plugin-path", test_plugin_dir(),
                        "run", "-c", cfg, "--", "/bin/sh", "-c", "ls /proc/self/fd"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0\n1\n2\n3\n");  // 3: the directory ls is reading
}

TEST_F(SuperviseTest, IgnoredSignalsOfTheCallerAreDefaultInside) {
  std::string cfg = config(unique_name("ign"));
  // Started like a shell's background job: SIGINT and SIGQUIT ignored in modrt.
  Result r = test::run({"/bin/sh", "-c", "trap '' INT QUIT; exec \"$0\" \"$@\"", modrt_binary(),
                        "--root", modrt.state_root().string(), "--plugin-path", test_plugin_dir(),
                        "run", "-c", cfg, "--", "/bin/sh", "-c", "grep SigIgn /proc/self/status"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "SigIgn:\t0000000000000000\n");
}

TEST_F(SuperviseTest, WithoutTerminalStdinIsNotATty) {
  std::string cfg = config(unique_name("notty"));
  EXPECT_EQ(modrt.run({"run", "-c", cfg, "--", "/bin/sh", "-c", "test -t 0"}).exit_code, 1);
}

}  // namespace
}  // namespace modrt::test
