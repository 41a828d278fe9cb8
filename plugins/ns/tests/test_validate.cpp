// Bad ns configs through the real binary: `modrt validate` and `modrt run` both exit 2 with a
// message naming file:line:col and the key, and nothing is left behind.
#include "ns_test.hpp"

namespace modrt::test::ns {
namespace {

struct BadConfig {
  std::string label;
  std::string with;
  std::string expected;  // a piece of the error message, key path included
  std::string extra = "";
};

// Test names carry the label; gtest would otherwise print the struct's bytes.
void PrintTo(const BadConfig& c, std::ostream* os) {
  *os << c.label;
}

class NsValidate : public HostLeakTest, public ::testing::WithParamInterface<BadConfig> {};

TEST_P(NsValidate, RefusedWithTheKeyNamed) {
  const BadConfig& c = GetParam();
  std::string cfg = dir.write("c.yaml", config(unique_name("ns"), "echo ran", c.with, c.extra));
  Result v = modrt.run({"validate", "-c", cfg});
  EXPECT_EQ(v.exit_code, 2) << v.err;
  EXPECT_NE(v.err.find(cfg + ":"), std::string::npos) << "no file:line:col in: " << v.err;
  EXPECT_NE(v.err.find(c.expected), std::string::npos) << v.err;
  Result r = modrt.run({"run", "-c", cfg});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.out, "");  // the workload never ran
}

INSTANTIATE_TEST_SUITE_P(
    Ns, NsValidate,
    ::testing::Values(
        BadConfig{"OverlappingContainerIds",
                  "{uid_map: [{container: 0, host: 100000, size: 100}, "
                  "{container: 50, host: 300000, size: 10}]}",
                  "stages[0].with.uid_map[1]: container ids 50..59 overlap line 0"},
        BadConfig{"OverlappingHostIds",
                  "{gid_map: [{container: 0, host: 100000, size: 100}, "
                  "{container: 200, host: 100099, size: 1}]}",
                  "stages[0].with.gid_map[1]: host ids 100099..100099 overlap line 0"},
        BadConfig{"RangePastTheIdSpace",
                  "{uid_map: [{container: 4294967000, host: 100000, size: 1000}]}",
                  "stages[0].with.uid_map[0]: container ids 4294967000..4294967999 run past"},
        BadConfig{"EmptyRange", "{uid_map: [{container: 0, host: 100000, size: 0}]}",
                  "stages[0].with.uid_map[0]: size must be at least 1"},
        BadConfig{"MapWithoutUserNamespace",
                  "{namespaces: [pid], uid_map: [{container: 0, host: 100000, size: 10}]}",
                  "stages[0].with.uid_map: needs a new user namespace"},
        BadConfig{"UnknownNamespace", "{namespaces: [user, pid, network]}",
                  "stages[0].with.namespaces[2]: unknown namespace 'network'"},
        BadConfig{"UnknownJoinKind", "{join: {netns: /proc/self/ns/net}}",
                  "stages[0].with.join.netns: unknown namespace 'netns'"},
        BadConfig{"NonexistentNamespacePath",
                  "{namespaces: [pid], join: {net: /proc/999999999/ns/net}}",
                  "stages[0].with.join.net: open '/proc/999999999/ns/net': No such file"},
        BadConfig{"PathOfAnotherKind", "{namespaces: [pid], join: {net: /proc/self/ns/uts}}",
                  "is a uts namespace, not a net namespace"},
        BadConfig{"NotANamespaceFile", "{namespaces: [pid], join: {net: /etc/hostname}}",
                  "'/etc/hostname' is not a namespace file"},
        BadConfig{"CreatedAndJoined", "{namespaces: [net], join: {net: /proc/self/ns/net}}",
                  "stages[0].with.namespaces[0]: 'net' is both created here and joined"},
        BadConfig{"JoinFromANewUserNamespace", "{join: {ipc: /proc/self/ns/ipc}}",
                  "stages[0].with.join.ipc: cannot be joined from a new user namespace"},
        BadConfig{"HostnameWithoutUts", "{namespaces: [pid], hostname: box}",
                  "stages[0].with.hostname: needs a new uts namespace"},
        BadConfig{"TopLevelHostnameWithoutUts", "{namespaces: [pid]}",
                  "the config's hostname 'web' needs a new uts namespace", "hostname: web\n"},
        BadConfig{"OffsetsWithoutTime", "{namespaces: [pid], time_offsets: {boottime: 1h}}",
                  "stages[0].with.time_offsets: needs a new time namespace"},
        BadConfig{"BadOffset", "{time_offsets: {boottime: yesterday}}",
                  "stages[0].with.time_offsets.boottime: expected a duration"},
        BadConfig{"MisspeltKey", "{namespace: [pid]}",
                  "stages[0].with.namespace: unknown key 'namespace' (did you mean 'namespaces'?)"},
        BadConfig{"InitNotABool", "{init: maybe}", "stages[0].with.init: expected true or false"}),
    [](const auto& info) { return info.param.label; });

using NsValidateGood = HostLeakTest;

TEST_F(NsValidateGood, EveryKeySetValidates) {
  std::string cfg = dir.write(
      "c.yaml", config(unique_name("ns"), "echo ran",
                       "{namespaces: [user, pid, mount, uts, ipc, net, cgroup, time], "
                       "uid_map: [{container: 0, host: 100000, size: 65536}], "
                       "gid_map: [{container: 0, host: 100000, size: 65536}], hostname: h, "
                       "domainname: d, time_offsets: {monotonic: 1s}, init: true}"));
  Result v = modrt.run({"validate", "-c", cfg});
  EXPECT_EQ(v.exit_code, 0) << v.err;
}

}  // namespace
}  // namespace modrt::test::ns
