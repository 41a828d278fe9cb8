#include <gtest/gtest.h>

#include "cgroup_dirs.hpp"
#include "exit_reason.hpp"

namespace modrt::cgroup {
namespace {

TEST(ExitReason, OomKillCounterInBothSpellings) {
  EXPECT_EQ(oom_kill_count("low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n"), 1u);
  EXPECT_EQ(oom_kill_count("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"), 3u);
  EXPECT_FALSE(oom_kill_count("oom_kill_disable 0\nunder_oom 0\n"));
}

TEST(Ledger, ValuesRoundTrip) {
  Version v;
  std::filesystem::path p;
  ASSERT_TRUE(
      parse_ledger_value(ledger_value(Version::v2, "/sys/fs/cgroup/unified/modrt/a b"), v, p));
  EXPECT_EQ(v, Version::v2);
  EXPECT_EQ(p, "/sys/fs/cgroup/unified/modrt/a b");
  EXPECT_FALSE(parse_ledger_value("v3 /x", v, p));
  EXPECT_FALSE(parse_ledger_value("v1 relative", v, p));
}

}  // namespace
}  // namespace modrt::cgroup
