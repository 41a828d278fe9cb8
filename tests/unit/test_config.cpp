// Every class of config error names file:line:column and the key path, and nothing else passes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "modrt/config.hpp"
#include "modrt/error.hpp"

namespace modrt {
namespace {

using ::testing::HasSubstr;

Config parse(const std::string& text) {
  return parse_config(text, "web.yaml", "/etc/modrt");
}

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

const char* kValid = R"(name: web
hostname: web
process:
  args: [/bin/httpd, -f]
  env: [PATH=/bin]
  cwd: /www
  user: {uid: 1000, gid: 1000, additional_gids: [10, 11]}
stages:
  - plugin: ns
    with: {namespaces: [pid]}
  - plugin: fs
)";

TEST(Config, ParsesEveryCoreKey) {
  Config c = parse(kValid);
  EXPECT_EQ(c.name, "web");
  EXPECT_EQ(c.hostname, "web");
  EXPECT_EQ(c.process.args, (std::vector<std::string>{"/bin/httpd", "-f"}));
  EXPECT_EQ(c.process.env, (std::vector<std::string>{"PATH=/bin"}));
  EXPECT_EQ(c.process.cwd, "/www");
  EXPECT_EQ(c.process.user.uid, 1000u);
  EXPECT_EQ(c.process.user.additional_gids, (std::vector<uint32_t>{10, 11}));
  ASSERT_EQ(c.stages.size(), 2u);
  EXPECT_EQ(c.stages[0].plugin, "ns");
  EXPECT_TRUE(c.stages[0].with.is_map());
  EXPECT_EQ(c.stages[1].plugin, "fs");
  EXPECT_TRUE(c.stages[1].with.is_map());  // an absent `with:` reads as an empty map
  EXPECT_EQ(c.stages[1].location, "web.yaml:11:13: stages[1].plugin");
  EXPECT_EQ(c.resolve("rootfs").string(), "/etc/modrt/rootfs");
  EXPECT_EQ(c.resolve("/abs").string(), "/abs");
}

TEST(Config, UnknownKeyNamesLineAndSuggests) {
  std::string text = kValid;
  text.replace(text.find("hostname:"), 9, "hostnme:");
  EXPECT_EQ(error_of(text),
            "web.yaml:2:1: hostnme: unknown key 'hostnme' (did you mean 'hostname'?); expected one "
            "of: name, hostname, backend, process, stages, plugin_path");
}

TEST(Config, UnknownNestedKeyHasFullPath) {
  std::string text = kValid;
  text.replace(text.find("cwd:"), 4, "cdw:");
  EXPECT_THAT(error_of(text), HasSubstr("web.yaml:6:3: process.cdw: unknown key 'cdw'"));
}

TEST(Config, WrongTypeNamesExpectation) {
  EXPECT_THAT(error_of("name: web\nprocess: {args: /bin/sh}\nstages: []\n"),
              HasSubstr("web.yaml:2:17: process.args: expected a list, got a scalar"));
  EXPECT_THAT(error_of("name: web\nprocess: {args: [sh], user: {uid: alice}}\nstages: []\n"),
              HasSubstr("process.user.uid: expected a non-negative integer, got 'alice'"));
  EXPECT_THAT(error_of("name: web\nprocess: {args: [sh], terminal: maybe}\nstages: []\n"),
              HasSubstr("process.terminal: expected true or false, got 'maybe'"));
}

TEST(Config, EmptyArgsRefused) {
  EXPECT_EQ(error_of("name: web\nprocess:\n  args: []\nstages: []\n"),
            "web.yaml:3:9: process.args: must name the command to run (an empty list was given)");
}

TEST(Config, MissingRequiredKeys) {
  EXPECT_THAT(error_of("process: {args: [sh]}\nstages: []\n"),
              HasSubstr("web.yaml:1:1: missing required key 'name'"));
  EXPECT_THAT(error_of("name: web\nstages: []\n"), HasSubstr("missing required key 'process'"));
  EXPECT_THAT(error_of("name: web\nprocess: {args: [sh]}\nstages: [{with: {}}]\n"),
              HasSubstr("stages[0]: missing required key 'plugin'"));
}

TEST(Config, DuplicateStageRefused) {
  EXPECT_EQ(error_of("name: web\nprocess: {args: [sh]}\nstages:\n  - plugin: ns\n  - plugin: net\n"
                     "  - plugin: ns\n"),
            "web.yaml:6:13: stages[2].plugin: plugin 'ns' is already used by stages[0]; a stage "
            "appears once");
}

TEST(Config, DuplicateKeyRefused) {
  EXPECT_THAT(error_of("name: web\nname: db\nprocess: {args: [sh]}\nstages: []\n"),
              HasSubstr("web.yaml:2:1: name: key given twice"));
}

TEST(Config, InvalidYamlHasPosition) {
  EXPECT_THAT(error_of("name: web\nprocess: {args: [sh]\nstages: []\n"), HasSubstr("web.yaml:3:"));
  EXPECT_THAT(error_of("name: web\nprocess: {args: [sh]\nstages: []\n"), HasSubstr("invalid YAML"));
}

TEST(Config, BadValuesRefused) {
  EXPECT_THAT(error_of("name: ../etc\nprocess: {args: [sh]}\nstages: []\n"),
              HasSubstr("name: '../etc' is not a valid name"));
  EXPECT_THAT(error_of("name: web\nbackend: kvm\nprocess: {args: [sh]}\nstages: []\n"),
              HasSubstr("backend: unknown backend 'kvm' (expected namespaces or vm)"));
  EXPECT_THAT(error_of("name: web\nprocess: {args: [sh], env: [NOEQUALS]}\nstages: []\n"),
              HasSubstr("process.env[0]: expected KEY=VALUE, got 'NOEQUALS'"));
  EXPECT_THAT(error_of("name: web\nprocess: {args: [sh], cwd: rel}\nstages: []\n"),
              HasSubstr("process.cwd: must be an absolute path"));
  EXPECT_THAT(error_of(""), HasSubstr("the config is empty"));
}

TEST(Config, NoStagesIsNoIsolationAndRefused) {
  EXPECT_THAT(error_of("name: web\nprocess: {args: [sh]}\nstages: []\n"),
              HasSubstr("web.yaml:3:9: stages: is empty: the workload would run on the host"));
}

TEST(Config, ANulByteIsRefusedNotCut) {
  // YAML's "\0" escape: the kernel would see only what comes before it.
  EXPECT_THAT(error_of("name: web\nprocess: {args: [sh], env: [\"A=1\\0B=2\"]}\nstages: []\n"),
              HasSubstr("process.env[0]: holds a NUL byte"));
  EXPECT_THAT(error_of("name: web\nprocess: {args: [\"sh\\0x\"]}\nstages: []\n"),
              HasSubstr("process.args[0]: holds a NUL byte"));
  Config c = parse(
      "name: web\nprocess: {args: [sh]}\nstages:\n  - plugin: fs\n    with: {mounts: "
      "[{destination: \"/tmp\\0/../etc\"}]}\n");
  auto mounts = c.stages[0].with.require("mounts").items();
  EXPECT_THROW(mounts[0].require("destination").as_string(), ConfigError);
}

TEST(Config, MissingFileIsAConfigError) {
  try {
    load_config("/nonexistent/modrt.yaml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "config file '/nonexistent/modrt.yaml': No such file or directory");
  }
}

TEST(ConfigNode, PluginStyleReading) {
  Config c = parse(
      "name: web\nprocess: {args: [sh]}\nstages:\n  - plugin: cgroup\n    with:\n"
      "      memory.max: lots\n      pids.max: 64\n");
  const ConfigNode& with = c.stages[0].with;
  EXPECT_EQ(with.require("pids.max").as_int(1, 100), 64);
  try {
    with.require("memory.max").as_size();
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "web.yaml:6:19: stages[0].with.memory.max: expected a size like 64M, 1.5G or "
                 "4096, got 'lots'");
  }
  EXPECT_THROW(with.require("pids.max").as_int(1, 10), ConfigError);
  EXPECT_THROW(with.require("cpu.max"), ConfigError);
  EXPECT_THROW(with.expect_keys({"memory.max"}), ConfigError);
  EXPECT_NO_THROW(with.expect_keys({"memory.max", "pids.max"}));
  EXPECT_EQ(with.entries().size(), 2u);
}

}  // namespace
}  // namespace modrt
