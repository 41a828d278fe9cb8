// create_cgroup on a directory tree that stands in for cgroupfs: which cgroup.subtree_control files
// it writes. Only directories modrt made (and the shared "modrt" one) may get a controller; the
// cgroup modrt runs in, or an existing part of `parent`, is never written.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <spdlog/logger.h>

#include "cgroup_dirs.hpp"
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

}  // namespace
}  // namespace modrt::cgroup
