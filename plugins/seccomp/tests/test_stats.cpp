// `modrt stats` of a running container reports what is in force: filter, no_new_privs,
// capabilities.
#include <signal.h>

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lockdown_test.hpp"

namespace modrt::test::seccomp {
namespace {

using ::testing::HasSubstr;

using SeccompStatsTest = LockdownTest;

std::vector<pid_t> children_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  std::vector<pid_t> out;
  for (pid_t child; in >> child;) out.push_back(child);
  return out;
}

TEST_F(SeccompStatsTest, ShowWhatTheWorkloadRunsWith) {
  Container c;
  c.args = {"/bin/sleep", "1000"};
  c.seccomp_with = "{capabilities: {drop: [ALL], add: [KILL, NET_BIND_SERVICE]}}";
  Background running(modrt.argv({"run", "-c", write_config(c)}));
  Result stats;
  ASSERT_TRUE(wait_until([&] {
    stats = modrt.run({"stats", name()});
    return stats.exit_code == 0 && stats.out.find("seccomp.seccomp: filter") != std::string::npos;
  })) << stats.err;
  EXPECT_THAT(stats.out, HasSubstr("seccomp.seccomp: filter (1 filters)\n"));
  EXPECT_THAT(stats.out, HasSubstr("seccomp.no_new_privs: 1\n"));
  EXPECT_THAT(stats.out,
              HasSubstr("seccomp.capabilities.effective: CAP_KILL CAP_NET_BIND_SERVICE\n"));
  EXPECT_THAT(stats.out,
              HasSubstr("seccomp.capabilities.bounding: CAP_KILL CAP_NET_BIND_SERVICE\n"));
  EXPECT_THAT(stats.out, HasSubstr("seccomp.capabilities.ambient: none\n"));

  auto kids = children_of(running.pid());
  ASSERT_EQ(kids.size(), 1u);
  ::kill(kids[0], SIGKILL);
  EXPECT_EQ(running.wait().exit_code, 128 + SIGKILL);
}

}  // namespace
}  // namespace modrt::test::seccomp
