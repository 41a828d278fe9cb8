// Capability sets inside real containers: `grep Cap /proc/self/status` shows exactly what the
// config says, for root and non-root workloads, and a capability modrt cannot grant is an error.
#include <sys/capability.h>

#include <cctype>

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lockdown_test.hpp"

namespace modrt::test::seccomp {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t bit(int cap) {
  return uint64_t{1} << cap;
}

constexpr uint64_t kDefault =
    bit(CAP_CHOWN) | bit(CAP_DAC_OVERRIDE) | bit(CAP_FSETID) | bit(CAP_FOWNER) | bit(CAP_MKNOD) |
    bit(CAP_NET_RAW) | bit(CAP_SETGID) | bit(CAP_SETUID) | bit(CAP_SETFCAP) | bit(CAP_SETPCAP) |
    bit(CAP_NET_BIND_SERVICE) | bit(CAP_SYS_CHROOT) | bit(CAP_KILL) | bit(CAP_AUDIT_WRITE);

uint64_t kernel_capabilities() {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int last = 0;
  in >> last;
  return (bit(last) - 1) | bit(last);
}

struct Sets {
  uint64_t inh, prm, eff, bnd, amb;
};

Sets sets_of(const std::string& out) {
  auto caps = capability_lines(out);
  EXPECT_EQ(caps.size(), 5u) << out;
  return {caps["CapInh"], caps["CapPrm"], caps["CapEff"], caps["CapBnd"], caps["CapAmb"]};
}

using SeccompCapabilityTest = LockdownTest;

TEST_F(SeccompCapabilityTest, DefaultIsTheFourteenContainerEnginesKeep) {
  Result r = sh("grep Cap /proc/self/status");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Sets s = sets_of(r.out);
  EXPECT_EQ(s.bnd, kDefault);
  EXPECT_EQ(s.prm, kDefault);
  EXPECT_EQ(s.eff, kDefault);
  EXPECT_EQ(s.inh, 0u);
  EXPECT_EQ(s.amb, 0u);
}

TEST_F(SeccompCapabilityTest, AddAndDropByName) {
  Result r = sh("grep Cap /proc/self/status",
                "{capabilities: {add: [NET_ADMIN, cap_sys_ptrace], drop: [NET_RAW, CAP_MKNOD]}}");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  uint64_t want =
      (kDefault | bit(CAP_NET_ADMIN) | bit(CAP_SYS_PTRACE)) & ~bit(CAP_NET_RAW) & ~bit(CAP_MKNOD);
  Sets s = sets_of(r.out);
  EXPECT_EQ(s.bnd, want);
  EXPECT_EQ(s.eff, want);
  EXPECT_EQ(s.prm, want);
}

TEST_F(SeccompCapabilityTest, DropAllLeavesRootPowerless) {
  Result r = sh("grep Cap /proc/self/status; touch /tmp/f; chown 1000 /tmp/f; echo chown=$?",
                "{capabilities: {drop: [ALL]}}");
  Sets s = sets_of(r.out);
  EXPECT_EQ(s.bnd | s.prm | s.eff | s.inh | s.amb, 0u);
  EXPECT_THAT(r.out, HasSubstr("chown=1"));
  EXPECT_THAT(r.err, HasSubstr("Operation not permitted"));
}

TEST_F(SeccompCapabilityTest, WithTheDefaultRootCanChown) {
  Result r = sh("touch /tmp/f; chown 1000 /tmp/f; echo chown=$?");
  EXPECT_THAT(r.out, HasSubstr("chown=0")) << r.err;
}

TEST_F(SeccompCapabilityTest, AllKeepsEveryCapabilityAndOpensTheGuardedSyscalls) {
  // With CAP_SYS_ADMIN kept, the default profile lets mount through (in the container's own mount
  // namespace), as the capability already decides who may mount.
  Result r = sh("grep Cap /proc/self/status; mount -t tmpfs none /tmp && echo mounted",
                "{capabilities: {add: [ALL]}}");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Sets s = sets_of(r.out);
  EXPECT_EQ(s.bnd, kernel_capabilities());
  EXPECT_EQ(s.eff, kernel_capabilities());
  EXPECT_THAT(r.out, HasSubstr("mounted"));
}

TEST_F(SeccompCapabilityTest, NonRootWorkloadHasNoEffectiveCapabilities) {
  Result r = sh("id -u; grep Cap /proc/self/status", "{}", "{uid: 1000, gid: 1000}");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("1000\n"));
  Sets s = sets_of(r.out);
  EXPECT_EQ(s.bnd, kDefault);
  EXPECT_EQ(s.prm, 0u);
  EXPECT_EQ(s.eff, 0u);
  EXPECT_EQ(s.amb, 0u);
}

TEST_F(SeccompCapabilityTest, AmbientCapabilitiesSurviveTheExecOfANonRootWorkload) {
  Result r =
      sh("id -u; grep Cap /proc/self/status",
         "{capabilities: {drop: [ALL], add: [NET_BIND_SERVICE], ambient: [NET_BIND_SERVICE]}}",
         "{uid: 1000, gid: 1000}");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("1000\n"));
  Sets s = sets_of(r.out);
  uint64_t want = bit(CAP_NET_BIND_SERVICE);
  EXPECT_EQ(s.bnd, want);
  EXPECT_EQ(s.prm, want);
  EXPECT_EQ(s.eff, want);
  EXPECT_EQ(s.inh, want);
  EXPECT_EQ(s.amb, want);
}

TEST_F(SeccompCapabilityTest, ACapabilityOutsideModrtsBoundingSetIsAnError) {
  // Without a user namespace the workload starts with modrt's own bounding set; a capability this
  // host withholds from us cannot be granted. Only testable where one is withheld.
  std::ifstream status("/proc/self/status");
  uint64_t bounding = 0;
  for (std::string line; std::getline(status, line);)
    if (line.rfind("CapBnd:", 0) == 0) bounding = std::stoull(line.substr(7), nullptr, 16);
  int missing = -1;
  for (int cap = 0; bit(cap) <= kernel_capabilities() && missing < 0; ++cap)
    if (!(bounding & bit(cap))) missing = cap;
  if (missing < 0) GTEST_SKIP() << "this host gives modrt every capability";

  char* name = ::cap_to_name(missing);
  std::string upper;
  for (const char* p = name; *p; ++p) upper += static_cast<char>(std::toupper(*p));
  ::cap_free(name);

  Container c;
  c.rootfs = false;
  c.args = {"/bin/true"};
  c.seccomp_with = "{capabilities: {add: [" + upper + "]}}";
  Result r = run(c);
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_THAT(r.err, HasSubstr(upper));
  EXPECT_THAT(r.err, HasSubstr("not in the bounding set modrt runs with"));
}

}  // namespace
}  // namespace modrt::test::seccomp
