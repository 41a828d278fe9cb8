// Each way a plugin file can be wrong has its own clear error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "loader.hpp"
#include "modrt/error.hpp"

namespace modrt {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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

// RTLD_NOW: refused at load, by `validate` already, with the symbol named; lazily bound it loaded
// and failed at its first call, inside the workload.
TEST(Loader, UnresolvedSymbolIsRefusedAtLoadAndNamed) {
  std::string error = load_error({kBad}, "unresolved");
  EXPECT_THAT(error, HasSubstr((kBad / "modrt_unresolved.so").string() +
                               "' cannot be loaded: undefined symbol "
                               "'modrt_symbol_that_does_not_exist': neither"));
  EXPECT_THAT(error, Not(HasSubstr("needed by")));  // the plugin itself needs it
}

TEST(Loader, UnresolvedCxxSymbolIsNamedDemangled) {
  EXPECT_THAT(load_error({kBad}, "unresolvedcxx"),
              HasSubstr("undefined symbol 'modrt::function_of_a_newer_core(int)' "
                        "(_ZN5modrt24function_of_a_newer_coreEi)"));
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
  EXPECT_THAT(all, HasSubstr("modrt_unresolved.so' cannot be loaded: undefined symbol"));
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
  // Last, the plugins beside the libmodrt this test runs with (build/lib), not a path compiled in.
  EXPECT_EQ(path.back(), std::filesystem::canonical(kGood.parent_path()) / "modrt");
}

}  // namespace
}  // namespace modrt
