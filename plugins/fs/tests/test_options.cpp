// The fs stage's `with:` block: what it accepts, its defaults, and the errors that name the key.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "modrt/error.hpp"
#include "options.hpp"

namespace modrt::fs {
namespace {

namespace stdfs = std::filesystem;

class OptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = stdfs::temp_directory_path() / ("modrt-fs-opt-" + std::to_string(::getpid()));
    stdfs::create_directories(dir_ / "rootfs");
    stdfs::create_directories(dir_ / "layer");
    stdfs::create_directories(dir_ / "data");
    std::ofstream(dir_ / "file.txt") << "x";
  }
  void TearDown() override { stdfs::remove_all(dir_); }

  // A config with an ns stage (unless ns is empty) followed by fs with the given `with:` block.
  FsOptions parse(const std::string& with, const std::string& ns = "{namespaces: [mount, pid]}") {
    std::string yaml = "name: t\nprocess: {args: [/bin/true]}\nstages:\n";
    if (!ns.empty()) yaml += "  - plugin: ns\n    with: " + ns + "\n";
    yaml += "  - plugin: fs\n    with: " + with + "\n";
    config_ = parse_config(yaml, "test.yaml", dir_);
    return parse_options(config_.stage("fs")->with, config_);
  }
  std::string error_of(const std::string& with, const std::string& ns = "{namespaces: [mount]}") {
    try {
      parse(with, ns);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }

  stdfs::path dir_;
  Config config_;
};

TEST_F(OptionsTest, RootfsResolvesAgainstTheConfigFolder) {
  FsOptions o = parse("{rootfs: rootfs}");
  EXPECT_EQ(o.rootfs, dir_ / "rootfs");
  EXPECT_FALSE(o.overlay);
  EXPECT_FALSE(o.readonly);
  EXPECT_EQ(o.idmap, Idmap::automatic);
  EXPECT_EQ(o.masked_paths, default_masked_paths());
  EXPECT_EQ(o.readonly_paths, default_readonly_paths());
}

TEST_F(OptionsTest, MissingRootfsIsAConfigErrorNamingTheKey) {
  std::string e = error_of("{rootfs: nowhere}");
  EXPECT_NE(e.find("test.yaml:"), std::string::npos) << e;
  EXPECT_NE(e.find("stages[1].with.rootfs"), std::string::npos) << e;
  EXPECT_NE(e.find("No such file or directory"), std::string::npos) << e;
  EXPECT_NE(error_of("{rootfs: file.txt}").find("is not a directory"), std::string::npos);
  EXPECT_NE(error_of("{readonly: true}").find("missing required key 'rootfs'"), std::string::npos);
}

TEST_F(OptionsTest, UnknownKeysAreRefused) {
  EXPECT_NE(error_of("{rootfs: rootfs, readonyl: true}").find("did you mean 'readonly'"),
            std::string::npos);
  EXPECT_NE(error_of("{rootfs: rootfs, overlay: {uper: x}}").find("unknown key 'uper'"),
            std::string::npos);
  EXPECT_NE(error_of("{rootfs: rootfs, mounts: [{type: tmpfs, destination: /t, source: /x}]}")
                .find("unknown key 'source'"),
            std::string::npos);
}

TEST_F(OptionsTest, NeedsTheNsStageWithAMountNamespaceBeforeIt) {
  EXPECT_NE(error_of("{rootfs: rootfs}", "").find("needs a mount namespace"), std::string::npos);
  EXPECT_NE(error_of("{rootfs: rootfs}", "{namespaces: [pid, net]}")
                .find("stages[0].with.namespaces: the fs stage needs the mount namespace"),
            std::string::npos);
  EXPECT_EQ(error_of("{rootfs: rootfs}", "{namespaces: [mnt]}"), "");
  EXPECT_EQ(error_of("{rootfs: rootfs}", "{}"), "");  // the ns stage's default set has it
  EXPECT_NE(error_of("{rootfs: rootfs}", "{namespaces: [mount], join: {user: /proc/1/ns/user}}")
                .find("stages[0].with.join.user: the fs stage cannot work with a joined user"),
            std::string::npos);

  std::string yaml =
      "name: t\nprocess: {args: [/bin/true]}\nstages:\n"
      "  - plugin: fs\n    with: {rootfs: rootfs}\n"
      "  - plugin: ns\n    with: {namespaces: [mount]}\n";
  Config config = parse_config(yaml, "test.yaml", dir_);
  try {
    parse_options(config.stage("fs")->with, config);
    FAIL() << "fs before ns was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("must come before"), std::string::npos) << e.what();
  }
}

TEST_F(OptionsTest, OverlayLayersAndPersistentUpper) {
  FsOptions o = parse("{rootfs: rootfs, overlay: {}}");
  ASSERT_TRUE(o.overlay);
  EXPECT_TRUE(o.overlay->lower.empty());
  EXPECT_FALSE(o.overlay->upper);

  o = parse("{rootfs: rootfs, overlay: {lower: [layer], upper: up, work: wk}}");
  ASSERT_EQ(o.overlay->lower.size(), 1u);
  EXPECT_EQ(o.overlay->lower[0], dir_ / "layer");
  EXPECT_EQ(*o.overlay->upper, dir_ / "up");
  EXPECT_EQ(*o.overlay->work, dir_ / "wk");

  EXPECT_NE(error_of("{rootfs: rootfs, overlay: {upper: up}}").find("needs `work:`"),
            std::string::npos);
  EXPECT_NE(error_of("{rootfs: rootfs, overlay: {upper: a, work: a}}").find("must differ"),
            std::string::npos);
  EXPECT_NE(error_of("{rootfs: rootfs, overlay: {lower: [missing]}}")
                .find("stages[1].with.overlay.lower[0]"),
            std::string::npos);
}

TEST_F(OptionsTest, EphemeralUpperInMemoryOrOnDisk) {
  FsOptions o = parse("{rootfs: rootfs, overlay: {}}");
  EXPECT_EQ(o.overlay->ephemeral, Ephemeral::memory);
  EXPECT_FALSE(o.overlay->size);
  o = parse("{rootfs: rootfs, overlay: {size: 64M}}");
  EXPECT_EQ(*o.overlay->size, 64u << 20);
  EXPECT_EQ(parse("{rootfs: rootfs, overlay: {ephemeral: disk}}").overlay->ephemeral,
            Ephemeral::disk);
  EXPECT_NE(error_of("{rootfs: rootfs, overlay: {ephemeral: ram}}").find("expected memory or disk"),
            std::string::npos);
  EXPECT_NE(error_of("{rootfs: rootfs, overlay: {ephemeral: disk, size: 1M}}")
                .find("in-memory ephemeral upper only"),
            std::string::npos);
  EXPECT_NE(error_of("{rootfs: rootfs, overlay: {upper: u, work: w, ephemeral: memory}}")
                .find("this overlay has `upper:`"),
            std::string::npos);
}

TEST_F(OptionsTest, BindAndTmpfsMounts) {
  FsOptions o = parse(
      "{rootfs: rootfs, mounts: ["
      "{type: bind, source: data, destination: /data, readonly: true, propagation: slave},"
      "{type: bind, source: file.txt, destination: /etc/f, recursive: false, idmap: true},"
      "{type: tmpfs, destination: /tmp, size: 16M, mode: 1777, noexec: true}]}");
  ASSERT_EQ(o.mounts.size(), 3u);
  EXPECT_EQ(o.mounts[0].type, MountSpec::Type::bind);
  EXPECT_EQ(o.mounts[0].source, dir_ / "data");
  EXPECT_TRUE(o.mounts[0].readonly);
  EXPECT_TRUE(o.mounts[0].recursive);
  EXPECT_EQ(o.mounts[0].propagation, Propagation::slave);
  EXPECT_FALSE(o.mounts[1].recursive);
  EXPECT_FALSE(o.mounts[0].idmap);
  EXPECT_TRUE(o.mounts[1].idmap);
  EXPECT_EQ(o.mounts[2].type, MountSpec::Type::tmpfs);
  EXPECT_EQ(*o.mounts[2].size, 16u << 20);
  EXPECT_EQ(*o.mounts[2].mode, 01777u);
  EXPECT_TRUE(o.mounts[2].noexec);
}

TEST_F(OptionsTest, MountErrorsNameTheEntry) {
  EXPECT_NE(error_of("{rootfs: rootfs, mounts: [{type: bind, source: gone, destination: /d}]}")
                .find("stages[1].with.mounts[0].source"),
            std::string::npos);
  EXPECT_NE(error_of("{rootfs: rootfs, mounts: [{type: tmpfs, destination: tmp}]}")
                .find("expected an absolute path"),
            std::string::npos);
  EXPECT_NE(error_of("{rootfs: rootfs, mounts: [{type: tmpfs, destination: /a/../../b}]}")
                .find("climbs out of the container's root"),
            std::string::npos);
  EXPECT_NE(error_of("{rootfs: rootfs, mounts: [{type: tmpfs, destination: //.}]}")
                .find("cannot mount over the container's root"),
            std::string::npos);
  EXPECT_NE(error_of("{rootfs: rootfs, mounts: [{type: nfs, destination: /x}]}")
                .find("expected bind or tmpfs"),
            std::string::npos);
  EXPECT_NE(error_of("{rootfs: rootfs, mounts: [{type: tmpfs, destination: /x, mode: 999}]}")
                .find("octal"),
            std::string::npos);
  EXPECT_NE(error_of("{rootfs: rootfs, mounts: [{type: tmpfs, destination: /x, size: lots}]}")
                .find("expected a size"),
            std::string::npos);
  EXPECT_NE(error_of("{rootfs: rootfs, mounts: [{type: bind, source: data, destination: /d, "
                     "propagation: rshared}]}")
                .find("expected private, slave, shared or unbindable"),
            std::string::npos);
}

TEST_F(OptionsTest, MaskedAndReadonlyPathsReplaceTheDefaults) {
  FsOptions o = parse("{rootfs: rootfs, masked_paths: [/proc/kcore], readonly_paths: []}");
  EXPECT_EQ(o.masked_paths, std::vector<std::string>{"/proc/kcore"});
  EXPECT_TRUE(o.readonly_paths.empty());
  EXPECT_NE(error_of("{rootfs: rootfs, masked_paths: [proc/kcore]}").find("absolute"),
            std::string::npos);
}

TEST_F(OptionsTest, Idmap) {
  EXPECT_EQ(parse("{rootfs: rootfs, idmap: false}").idmap, Idmap::off);
  EXPECT_EQ(parse("{rootfs: rootfs, idmap: true}").idmap, Idmap::on);
  EXPECT_NE(error_of("{rootfs: rootfs, idmap: maybe}").find("expected auto, true or false"),
            std::string::npos);
}

TEST(ParseMode, OctalDigitsOnly) {
  EXPECT_EQ(parse_mode("1777"), 01777u);
  EXPECT_EQ(parse_mode("0755"), 0755u);
  EXPECT_EQ(parse_mode("700"), 0700u);
  EXPECT_FALSE(parse_mode("8"));
  EXPECT_FALSE(parse_mode(""));
  EXPECT_FALSE(parse_mode("rwx"));
  EXPECT_FALSE(parse_mode("177777"));
}

}  // namespace
}  // namespace modrt::fs
