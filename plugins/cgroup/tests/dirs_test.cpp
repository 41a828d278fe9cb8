// create_cgroup on a directory tree that stands in for cgroupfs: which cgroup.subtree_control files
// it writes. Only directories modrt made (and the shared "modrt" one) may get a controller; the
// cgroup modrt runs in, or an existing part of `parent`, is never written.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/logger.h>

#include "cgroup_dirs.hpp"
#include "modrt/error.hpp"
#include "stand_in.hpp"

namespace modrt::cgroup {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Dirs : public StandInCgroupfs {
 protected:
  Dirs() : StandInCgroupfs("cgroup-dirs-") {}

  // A stand-in cgroup: a directory with a cgroup.subtree_control file holding `content`.
  fs::path cgroup(const std::string& rel, const std::string& content = "") {
    fs::create_directories(root_ / rel);
    std::ofstream(root_ / rel / "cgroup.subtree_control") << content;
    return root_ / rel;
  }

  Target v2_target(std::set<std::string> controllers) {
    Target t;
    t.hierarchy.version = Version::v2;
    t.hierarchy.mount = root_ / "unified";
    t.hierarchy.controllers = controllers;
    t.hierarchy.delegated = controllers;
    t.controllers = std::move(controllers);
    return t;
  }
};

TEST_F(Dirs, ControllersAreEnabledInTheModrtDirButNeverInModrtsOwnCgroup) {
  fs::path own = cgroup("unified", "");
  fs::path shared = cgroup("unified/modrt");
  // Even given a layout whose root does not delegate the controller (placement refuses those),
  // the root is left alone.
  Target target = v2_target({"hugetlb"});
  target.hierarchy.delegated.clear();
  LiveCgroup made = create_cgroup(ctx_, target, "", "web");
  EXPECT_EQ(made.path, shared / "web");
  EXPECT_TRUE(fs::is_directory(shared / "web"));
  EXPECT_EQ(slurp(own / "cgroup.subtree_control"), "") << "modrt's own cgroup was written";
  EXPECT_EQ(slurp(shared / "cgroup.subtree_control"), "+hugetlb");
  EXPECT_EQ(ledger_.values(kLedgerShared),
            std::vector<std::string>{ledger_value(Version::v2, shared)});
  EXPECT_EQ(ledger_.values(kLedgerCgroup),
            std::vector<std::string>{ledger_value(Version::v2, shared / "web")});
}

TEST_F(Dirs, WithNoControllerNothingIsWrittenAnywhere) {
  fs::path own = cgroup("unified");
  fs::path shared = cgroup("unified/modrt");
  create_cgroup(ctx_, v2_target({}), "", "web");
  EXPECT_EQ(slurp(own / "cgroup.subtree_control"), "");
  EXPECT_EQ(slurp(shared / "cgroup.subtree_control"), "");
}

TEST_F(Dirs, AnExistingPartOfAnAbsoluteParentIsNotWritten) {
  fs::path root = cgroup("unified");
  fs::path jobs = cgroup("unified/jobs");
  fs::path batch = cgroup("unified/jobs/batch");
  create_cgroup(ctx_, v2_target({"hugetlb"}), "/jobs/batch", "web");
  EXPECT_TRUE(fs::is_directory(batch / "web"));
  for (const auto& dir : {root, jobs, batch})
    EXPECT_EQ(slurp(dir / "cgroup.subtree_control"), "") << dir << " is not modrt's";
  EXPECT_TRUE(ledger_.values(kLedgerParent).empty());
  EXPECT_TRUE(ledger_.values(kLedgerShared).empty());
}

// Every directory is in the ledger before it exists: a modrt killed between the record (journaled
// as it happens) and the mkdir leaves an entry whose undo finds nothing, never a directory no
// ledger names.
TEST_F(Dirs, EachDirectoryIsRecordedBeforeItIsMade) {
  cgroup("unified");
  std::vector<std::pair<std::string, bool>> seen;  // value, existed when recorded
  ledger_.set_observer([&](const Ledger::Entry& e, bool recorded) {
    if (!recorded) return;
    Version v;
    fs::path path;
    ASSERT_TRUE(parse_ledger_value(e.value, v, path)) << e.value;
    seen.emplace_back(e.kind + " " + e.value, fs::exists(path));
  });
  create_cgroup(ctx_, v2_target({}), "/jobs/batch", "web-0123456789ab");
  ledger_.set_observer(nullptr);
  ASSERT_EQ(seen.size(), 3u);
  for (const auto& [value, existed] : seen) EXPECT_FALSE(existed) << value << " was made first";
  EXPECT_TRUE(fs::is_directory(root_ / "unified/jobs/batch/web-0123456789ab"));
}

// A leaf whose mkdir fails leaves no entry behind: it was never ours.
TEST_F(Dirs, ALeafThatCannotBeMadeIsNotLeftInTheLedger) {
  cgroup("unified");
  cgroup("unified/modrt/web-0123456789ab");  // a name the run drew, taken (cannot really happen)
  EXPECT_THROW(create_cgroup(ctx_, v2_target({}), "", "web-0123456789ab"), Error);
  EXPECT_TRUE(ledger_.values(kLedgerCgroup).empty());
  EXPECT_TRUE(fs::is_directory(root_ / "unified/modrt/web-0123456789ab"));
}

TEST(UniqueLeafName, IsTheNameAndTwelveRandomHexDigits) {
  std::string a = unique_leaf_name("web"), b = unique_leaf_name("web");
  EXPECT_THAT(a, ::testing::MatchesRegex("web-[0-9a-f]{12}"));
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace modrt::cgroup
