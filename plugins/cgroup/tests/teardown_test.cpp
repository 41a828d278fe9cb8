// remove_cgroups from the ledger alone, on a directory tree that stands in for cgroupfs (empty
// directories are empty cgroups).
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>
#include <spdlog/logger.h>

#include "cgroup_dirs.hpp"
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

TEST_F(Teardown, AMalformedEntryIsSkipped) {
  ledger_.record(kLedgerCgroup, "v7 nonsense");
  remove_cgroups(ctx_);  // must not throw
  EXPECT_EQ(ledger_.entries().size(), 1u);
}

}  // namespace
}  // namespace modrt::cgroup
