// The command line: validate, plugins, config errors with positions, names, state and its recovery.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "modrt_test.hpp"

namespace modrt::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

class CliTest : public HostLeakTest {
 protected:
  std::string config(const std::string& name, const std::string& with1 = "{}") {
    return dir.write(name + ".yaml", "name: " + name +
                                         "\nprocess: {args: [/bin/true]}\nstages:\n"
                                         "  - plugin: fault1\n    with: " +
                                         with1 + "\n  - plugin: fault2\n    with: {log: " +
                                         (dir / "calls.log").string() + "}\n");
  }
  std::string calls() const {
    std::ifstream in(dir / "calls.log");
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }
};

TEST_F(CliTest, ValidateAcceptsAGoodConfigAndRunsNothing) {
  std::string cfg = config(unique_name("val"));
  Result r = modrt.run({"validate", "-c", cfg});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("valid (2 stages: fault1 fault2)"));
  EXPECT_EQ(calls(), "");
}

TEST_F(CliTest, PluginErrorsInWithAreExit2WithPosition) {
  std::string name = unique_name("bad");
  std::string cfg = config(name, "{fail_at: sometimes}");
  Result r = modrt.run({"validate", "-c", cfg});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr(cfg + ":5:21: stages[0].with.fail_at: 'sometimes' is not a phase"));
  Result run = modrt.run({"run", "-c", cfg});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(calls(), "");  // nothing was done
}

TEST_F(CliTest, MissingRequiredPluginKey) {
  std::string cfg = config(unique_name("req"), "{require: size}");
  Result r = modrt.run({"validate", "-c", cfg});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr(":5:11: stages[0].with: missing required key 'size'"));
}

TEST_F(CliTest, UnknownPluginKey) {
  std::string cfg = config(unique_name("key"), "{fial_at: prepare}");
  Result r = modrt.run({"validate", "-c", cfg});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("stages[0].with.fial_at: unknown key 'fial_at' (did you mean "
                               "'fail_at'?)"));
}

TEST_F(CliTest, MissingPluginNamesTheStageAndTheFolders) {
  std::string cfg = dir.write("missing.yaml",
                              "name: m\nprocess: {args: [/bin/true]}\nstages:\n  - plugin: nope\n");
  Result r = modrt.run({"run", "-c", cfg});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr(cfg +
                               ":4:13: stages[0].plugin: plugin 'nope' not found: no "
                               "modrt_nope.so in " +
                               plugin_dir()));
}

TEST_F(CliTest, PluginBuiltForAnotherApiVersionIsRefused) {
  std::string cfg = dir.write(
      "v.yaml", "name: v\nprocess: {args: [/bin/true]}\nstages:\n  - plugin: badversion\n");
  Result r =
      test::run({modrt_binary(), "--root", modrt.state_root().string(), "--plugin-path",
                 fs::path(test_plugin_dir()).parent_path() / "modrt-bad", "validate", "-c", cfg});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("stages[0].plugin: plugin file"));
  EXPECT_THAT(r.err, HasSubstr("was built for plugin API version 42, but this modrt provides "
                               "version 1"));
}

TEST_F(CliTest, MissingConfigFile) {
  Result r = modrt.run({"run", "-c", "/nonexistent.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("config file '/nonexistent.yaml': No such file or directory"));
}

TEST_F(CliTest, BadCommandLineIsExit2) {
  EXPECT_EQ(modrt.run({"run"}).exit_code, 2);
  EXPECT_EQ(modrt.run({"--log-level", "loud", "plugins"}).exit_code, 2);
  EXPECT_EQ(modrt.run({"run", "-c", config(unique_name("n")), "--name", "../x"}).exit_code, 2);
}

TEST_F(CliTest, PluginsListsNamesVersionsAndKeys) {
  Result r = modrt.run({"plugins"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("fault1 1.0  " + test_plugin_dir() + "/modrt_fault1.so"));
  EXPECT_THAT(r.out, HasSubstr("fail_at"));
  EXPECT_THAT(r.out, HasSubstr("test plugin: logs each hook, fails on demand"));
}

TEST_F(CliTest, VersionAndHelp) {
  EXPECT_THAT(modrt.run({"--version"}).out, HasSubstr("modrt 0.1.0 (plugin API 1)"));
  Result help = modrt.run({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("validate"));
}

TEST_F(CliTest, ConfigShorthandRuns) {
  std::string cfg = config(unique_name("short"));
  Result r = modrt.run({"--config", cfg});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(calls(), HasSubstr("fault2 apply_workload"));
}

TEST_F(CliTest, ALiveNameCannotRunTwice) {
  std::string name = unique_name("twice");
  std::string cfg = config(name);
  Background first(modrt.argv({"run", "-c", cfg, "--", "/bin/sh", "-c",
                               "echo ready; trap 'exit 0' TERM; while :; do sleep 0.05; done"}));
  ASSERT_TRUE(wait_until([&] { return first.output() == "ready\n"; }));
  EXPECT_TRUE(fs::exists(modrt.state_root() / name / "state.json"));
  Result second = modrt.run({"run", "-c", cfg});
  EXPECT_EQ(second.exit_code, 125);
  EXPECT_THAT(second.err,
              HasSubstr("a container named '" + name + "' is already running (modrt pid " +
                        std::to_string(first.pid()) + ")"));
  Result list = modrt.run({"list"});
  EXPECT_THAT(list.out, HasSubstr(name));
  EXPECT_THAT(list.out, HasSubstr("running"));
  first.signal(SIGTERM);
  EXPECT_EQ(first.wait().exit_code, 0);
  EXPECT_FALSE(fs::exists(modrt.state_root() / name));
  // The name is free again, and a different name never collided.
  EXPECT_EQ(modrt.run({"run", "-c", cfg}).exit_code, 0);
}

TEST_F(CliTest, DeadRunIsRolledBackByGcAndByTheNextRun) {
  std::string name = unique_name("dead");
  std::string cfg = config(name);
  for (const std::string how : {"gc", "delete", "rerun"}) {
    Background run(modrt.argv(
        {"run", "-c", cfg, "--", "/bin/sh", "-c", "echo ready; while :; do sleep 0.05; done"}));
    ASSERT_TRUE(wait_until([&] { return run.output() == "ready\n"; }));
    int workload = -1;
    {
      std::ifstream journal(modrt.state_root() / name / "journal");
      std::string text((std::istreambuf_iterator<char>(journal)), {});
      auto at = text.find("\"workload_pid\":");
      ASSERT_NE(at, std::string::npos) << text;
      workload = std::stoi(text.substr(at + 15));
    }
    run.signal(SIGKILL);  // modrt dies without any rollback
    run.wait();
    // PDEATHSIG took the workload down with its supervisor.
    ASSERT_TRUE(wait_until([&] { return ::kill(workload, 0) != 0; }));
    ASSERT_TRUE(fs::exists(modrt.state_root() / name / "state.json"));
    std::string before = calls();
    if (how == "gc") {
      Result gc = modrt.run({"gc"});
      EXPECT_EQ(gc.exit_code, 0) << gc.err;
      EXPECT_THAT(gc.out, HasSubstr("removed " + name));
    } else if (how == "delete") {
      Result del = modrt.run({"delete", name});
      EXPECT_EQ(del.exit_code, 0) << del.err;
    } else {
      Result again = modrt.run({"--log-level", "warn", "run", "-c", cfg});
      EXPECT_EQ(again.exit_code, 0) << again.err;
      EXPECT_THAT(again.err, HasSubstr("found the state of a dead run"));
    }
    std::string after = calls().substr(before.size());
    // The dead run's fault2 is rolled back from its ledger (it recorded a token in prepare).
    EXPECT_THAT(after, HasSubstr("fault2 rollback\n")) << how;
    EXPECT_THAT(after, Not(HasSubstr("empty ledger"))) << how;
    EXPECT_FALSE(fs::exists(modrt.state_root() / name)) << how;
  }
  EXPECT_EQ(modrt.run({"delete", name}).exit_code, 125);
}

}  // namespace
}  // namespace modrt::test

namespace modrt::test {
namespace {

TEST_F(CliTest, JsonLogsAreOneObjectPerLine) {
  std::string cfg = config(unique_name("json"));
  Result r = modrt.run({"--log-format", "json", "--log-level", "debug", "run", "-c", cfg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.err);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    EXPECT_EQ(line.front(), '{') << line;
    EXPECT_EQ(line.back(), '}') << line;
    EXPECT_THAT(line, HasSubstr("\"level\":\"debug\"")) << line;
    EXPECT_THAT(line, HasSubstr("\"logger\":\"fault")) << line;
  }
  EXPECT_GE(count, 4);  // prepare and apply_host of two stages at least
}

}  // namespace
}  // namespace modrt::test
