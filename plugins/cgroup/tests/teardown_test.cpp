// remove_cgroups from the ledger alone, on a directory tree that stands in for cgroupfs (empty
// directories are empty cgroups).
#include <unistd.h>

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/logger.h>

#include "cgroup_dirs.hpp"
#include "modrt/error.hpp"
#include "stand_in.hpp"
#include "teardown.hpp"

namespace modrt::cgroup {
namespace {

namespace fs = std::filesystem;

class Teardown : public StandInCgroupfs {
 protected:
  Teardown() : StandInCgroupfs("cgroup-teardown-") {}

  fs::path make(const std::string& rel) {
    fs::create_directories(root_ / rel);
    return root_ / rel;
  }
};

TEST_F(Teardown, RemovesTheCgroupThenTheParentsItMadeDeepestFirst) {
  fs::path a = make("hier/jobs"), b = make("hier/jobs/batch"), leaf = make("hier/jobs/batch/web");
  ledger_.record(kLedgerParent, ledger_value(Version::v1, a));
  ledger_.record(kLedgerParent, ledger_value(Version::v1, b));
  ledger_.record(kLedgerCgroup, ledger_value(Version::v1, leaf));
  remove_cgroups(ctx_);
  EXPECT_FALSE(fs::exists(a));
  EXPECT_TRUE(fs::exists(root_ / "hier"));  // not ours
  EXPECT_TRUE(ledger_.empty());
}

TEST_F(Teardown, ASharedParentStillInUseStaysWithoutAnError) {
  fs::path shared = make("hier/modrt"), mine = make("hier/modrt/a"), other = make("hier/modrt/b");
  ledger_.record(kLedgerShared, ledger_value(Version::v1, shared));
  ledger_.record(kLedgerCgroup, ledger_value(Version::v1, mine));
  remove_cgroups(ctx_);
  EXPECT_FALSE(fs::exists(mine));
  EXPECT_TRUE(fs::exists(other));
  EXPECT_TRUE(fs::exists(shared));
  EXPECT_TRUE(ledger_.empty());
}

TEST_F(Teardown, IsIdempotentAndToleratesWhatIsAlreadyGone) {
  ledger_.record(kLedgerCgroup, ledger_value(Version::v1, root_ / "never-made"));
  remove_cgroups(ctx_);
  remove_cgroups(ctx_);
  EXPECT_TRUE(ledger_.empty());
}

TEST_F(Teardown, AMalformedEntryStaysAndIsNamedWhileTheRestIsRemoved) {
  fs::path leaf = make("hier/modrt/web-0123456789ab");
  ledger_.record(kLedgerCgroup, "v7 nonsense");
  ledger_.record(kLedgerCgroup, ledger_value(Version::v1, leaf));
  EXPECT_THROW(
      {
        try {
          remove_cgroups(ctx_);
        } catch (const Error& e) {
          EXPECT_THAT(e.what(), ::testing::HasSubstr("v7 nonsense"));
          throw;
        }
      },
      Error);
  EXPECT_FALSE(fs::exists(leaf));
  ASSERT_EQ(ledger_.entries().size(), 1u);
  EXPECT_EQ(ledger_.entries()[0].value, "v7 nonsense");
}

// A cgroup that cannot be removed (here: not empty) is named in the error and stays in the
// ledger; every other entry is still tried, and undone ones are forgotten. A second rollback,
// once the obstacle is gone, finishes the job (what `modrt gc` does).
TEST_F(Teardown, ACgroupThatCannotBeRemovedIsNamedAndKeptTheOthersStillGo) {
  fs::path shared = make("hier/modrt");
  fs::path stuck = make("hier/modrt/web-aaaaaaaaaaaa");
  fs::path other = make("other/modrt/web-aaaaaaaaaaaa");
  make("hier/modrt/web-aaaaaaaaaaaa/child");  // rmdir refuses a cgroup with children
  ledger_.record(kLedgerShared, ledger_value(Version::v1, shared));
  ledger_.record(kLedgerCgroup, ledger_value(Version::v1, stuck));
  ledger_.record(kLedgerCgroup, ledger_value(Version::v1, other));
  std::string message;
  try {
    remove_cgroups(ctx_);
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_THAT(message, ::testing::HasSubstr("remove cgroup '" + stuck.string() + "'"));
  EXPECT_THAT(message, ::testing::HasSubstr("2 cgroup entries left"));
  EXPECT_FALSE(fs::exists(other));
  // The shared parent holds our own leftover: it stays on record, so the retry removes it too.
  EXPECT_TRUE(fs::exists(shared));
  EXPECT_EQ(ledger_.values(kLedgerCgroup),
            std::vector<std::string>{ledger_value(Version::v1, stuck)});
  EXPECT_EQ(ledger_.values(kLedgerShared),
            std::vector<std::string>{ledger_value(Version::v1, shared)});

  fs::remove(stuck / "child");
  remove_cgroups(ctx_);
  EXPECT_FALSE(fs::exists(stuck));
  EXPECT_FALSE(fs::exists(shared));
  EXPECT_TRUE(ledger_.empty());
}

}  // namespace
}  // namespace modrt::cgroup
