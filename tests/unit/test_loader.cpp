// Each way a plugin file can be wrong has its own clear error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "loader.hpp"
#include "modrt/error.hpp"

namespace modrt {
namespace {

using ::testing::HasSubstr;

std::string load_error(const std::vector<std::filesystem::path>& path, const std::string& name) {
  PluginLoader loader(path);
  try {
    loader.load(name);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

const std::filesystem::path kBad = MODRT_TEST_BAD_PLUGIN_DIR;
const std::filesystem::path kGood = MODRT_TEST_GOOD_PLUGIN_DIR;

TEST(Loader, NotFoundListsTheFoldersSearched) {
  EXPECT_EQ(load_error({"/nonexistent/a", "/nonexistent/b"}, "nett"),
            "plugin 'nett' not found: no modrt_nett.so in /nonexistent/a, /nonexistent/b");
}

TEST(Loader, NotASharedObject) {
  EXPECT_THAT(load_error({kBad}, "notelf"), HasSubstr("modrt_notelf.so' cannot be loaded"));
}

TEST(Loader, MissingEntryPoint) {
  EXPECT_THAT(load_error({kBad}, "nosymbol"),
              HasSubstr("does not export the entry point 'modrt_plugin'"));
}

TEST(Loader, ApiVersionMismatchSaysBothVersions) {
  EXPECT_THAT(load_error({kBad}, "badversion"),
              HasSubstr(fmt::format("was built for plugin API version {}, but this modrt provides "
                                    "version {}",
                                    kPluginApiVersion + 41, kPluginApiVersion)));
}

TEST(Loader, DeclaredNameMustMatchTheFile) {
  EXPECT_THAT(load_error({kBad}, "wrongname"),
              HasSubstr("declares the name 'fault1', expected 'wrongname'"));
}

TEST(Loader, FirstFolderWins) {
  PluginLoader loader({kGood, kBad});
  const LoadedPlugin& plugin = loader.load("fault1");
  EXPECT_EQ(plugin.path, kGood / "modrt_fault1.so");
  EXPECT_STREQ(plugin.info->name, "fault1");
  EXPECT_EQ(&loader.load("fault1"), &plugin);  // loaded once
}

TEST(Loader, DiscoverReportsTwoPluginsWithOneName) {
  PluginLoader loader({kGood, kBad});
  std::vector<std::string> problems;
  auto found = loader.discover(problems);
  EXPECT_EQ(found.size(), 3u);  // fault1..3; the bad ones are problems
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  EXPECT_THAT(all, HasSubstr("two plugins named 'fault1'"));
  EXPECT_THAT(all, HasSubstr("badversion"));
  EXPECT_THAT(all, HasSubstr("nosymbol"));
  EXPECT_THAT(all, HasSubstr("notelf"));
}

TEST(Loader, SearchPathOrder) {
  ::setenv("MODRT_PLUGIN_PATH", "/env/a:/env/b", 1);
  auto path = plugin_search_path("/cli/a:/cli/b", {"/cfg"});
  ::unsetenv("MODRT_PLUGIN_PATH");
  ASSERT_GE(path.size(), 6u);
  EXPECT_EQ(path[0], "/cli/a");
  EXPECT_EQ(path[1], "/cli/b");
  EXPECT_EQ(path[2], "/cfg");
  EXPECT_EQ(path[3], "/env/a");
  EXPECT_EQ(path[4], "/env/b");
  EXPECT_EQ(path.back(), MODRT_PLUGIN_INSTALL_DIR);
}

}  // namespace
}  // namespace modrt
