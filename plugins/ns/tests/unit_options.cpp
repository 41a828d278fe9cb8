#include <sched.h>

#include <gtest/gtest.h>

#include "modrt/error.hpp"
#include "options.hpp"

namespace modrt::ns {
namespace {

using namespace std::chrono_literals;

Caller root() {
  Caller c;
  c.uid = c.gid = 0;
  c.user_name = "root";
  c.can_setuid = c.can_setgid = c.can_sys_admin = true;
  c.own_uid_map = c.own_gid_map = {{0, 0, 4294967295u}};
  c.newuidmap = "/usr/bin/newuidmap";
  c.newgidmap = "/usr/bin/newgidmap";
  return c;
}

Caller user(bool with_subids) {
  Caller c;
  c.uid = c.gid = 1234;
  c.user_name = "alice";
  c.own_uid_map = c.own_gid_map = {{0, 0, 4294967295u}};
  if (with_subids) {
    c.subuids = {{200000, 65536}};
    c.subgids = {{300000, 65536}};
  }
  c.newuidmap = "/usr/bin/newuidmap";
  c.newgidmap = "/usr/bin/newgidmap";
  return c;
}

// A whole config whose only stage is ns with the given `with:` block (YAML flow map).
NsOptions parse(const std::string& with, const Caller& caller, const std::string& extra = "") {
  std::string yaml = "name: t\n" + extra +
                     "process: {args: [/bin/true]}\n"
                     "stages:\n"
                     "  - plugin: ns\n"
                     "    with: " +
                     with + "\n";
  static Config config;  // ConfigNodes point into it; keep it alive across the call
  config = parse_config(yaml, "test.yaml", "/tmp");
  return parse_options(config.stages.at(0).with, config, caller);
}

// The ConfigError message of parsing `with`, or "" when it parses.
std::string error_of(const std::string& with, const Caller& caller, const std::string& extra = "") {
  try {
    parse(with, caller, extra);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(NsOptionParsing, DefaultsToEveryNamespaceButTime) {
  NsOptions o = parse("{}", root());
  EXPECT_EQ(o.created, uint64_t{CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS |
                                CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP});
  EXPECT_FALSE(o.init);
  // root's default: its own ids one to one, written directly
  ASSERT_EQ(o.maps.uid_map.size(), 1u);
  EXPECT_EQ(o.maps.uid_map[0].size, 4294967295u);
  EXPECT_EQ(o.maps.uid_method, MapMethod::direct);
  EXPECT_FALSE(o.maps.deny_setgroups);
}

TEST(NsOptionParsing, TimeOffsetsAskForATimeNamespace) {
  NsOptions o = parse("{time_offsets: {monotonic: 10s, boottime: -1h}}", root());
  EXPECT_TRUE(o.creates(CLONE_NEWTIME));
  EXPECT_EQ(o.time_offsets.monotonic, 10s);
  EXPECT_EQ(o.time_offsets.boottime, -1h);
}

TEST(NsOptionParsing, TimeOffsetsNeedTimeInAnExplicitList) {
  EXPECT_NE(error_of("{namespaces: [user, pid], time_offsets: {monotonic: 1s}}", root())
                .find("stages[0].with.time_offsets: needs a new time namespace"),
            std::string::npos);
  EXPECT_NE(error_of("{time_offsets: {monotonic: soon}}", root())
                .find("stages[0].with.time_offsets.monotonic: expected a duration"),
            std::string::npos);
  EXPECT_NE(error_of("{time_offsets: {realtime: 1s}}", root()).find("unknown key 'realtime'"),
            std::string::npos);
}

TEST(NsOptionParsing, ExplicitListIsExact) {
  NsOptions o = parse("{namespaces: [pid, net], init: true}", root());
  EXPECT_EQ(o.created, uint64_t{CLONE_NEWPID | CLONE_NEWNET});
  EXPECT_TRUE(o.init);
  EXPECT_TRUE(o.maps.uid_map.empty());
}

TEST(NsOptionParsing, RefusesUnknownAndRepeatedNamespaces) {
  EXPECT_NE(error_of("{namespaces: [user, network]}", root())
                .find("stages[0].with.namespaces[1]: unknown namespace 'network'"),
            std::string::npos);
  EXPECT_NE(error_of("{namespaces: [pid, pid]}", root()).find("listed twice"), std::string::npos);
  EXPECT_NE(error_of("{namespace: [pid]}", root()).find("did you mean 'namespaces'"),
            std::string::npos);
}

TEST(NsOptionParsing, MapsNeedANewUserNamespace) {
  EXPECT_NE(error_of("{namespaces: [pid], uid_map: [{container: 0, host: 1000, size: 1}]}", root())
                .find("stages[0].with.uid_map: needs a new user namespace"),
            std::string::npos);
}

TEST(NsOptionParsing, MapErrorsNameTheLine) {
  std::string e = error_of(
      "{uid_map: [{container: 0, host: 100000, size: 10}, {container: 5, host: 200000, size: 1}]}",
      root());
  EXPECT_NE(e.find("stages[0].with.uid_map[1]: container ids 5..5 overlap line 0"),
            std::string::npos)
      << e;
  EXPECT_NE(error_of("{uid_map: [{container: 0, host: 1, size: 0}]}", root())
                .find("uid_map[0]: size must be at least 1"),
            std::string::npos);
  EXPECT_NE(error_of("{gid_map: [{container: 0, hostid: 1}]}", root()).find("unknown key 'hostid'"),
            std::string::npos);
  EXPECT_NE(error_of("{gid_map: [{container: -1, host: 1}]}", root())
                .find("gid_map[0].container: expected a non-negative integer"),
            std::string::npos);
  EXPECT_NE(error_of("{uid_map: []}", root()).find("uid_map: an empty map"), std::string::npos);
}

TEST(NsOptionParsing, RootMapsMustExistInItsOwnNamespace) {
  Caller nested = root();
  nested.own_uid_map = {{0, 100000, 65536}};  // modrt itself runs in a user namespace
  EXPECT_NE(error_of("{uid_map: [{container: 0, host: 70000, size: 1}]}", nested)
                .find("do not exist in modrt's own user namespace"),
            std::string::npos);
}

TEST(NsOptionParsing, ProcessUserMustBeMapped) {
  Config config = parse_config(
      "name: t\nprocess: {args: [/bin/true], user: {uid: 1000, gid: 0}}\n"
      "stages: [{plugin: ns, with: {uid_map: [{container: 0, host: 100000, size: 100}]}}]\n",
      "test.yaml", "/tmp");
  try {
    parse_options(config.stages[0].with, config, root());
    FAIL() << "an unmapped process.user.uid was accepted";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("process.user.uid 1000 is not mapped by uid_map"),
              std::string::npos)
        << error.what();
  }
}

TEST(NsOptionParsing, RootlessDefaultsToSelfPlusSubordinateRange) {
  NsOptions o = parse("{}", user(true));
  ASSERT_EQ(o.maps.uid_map.size(), 2u);
  EXPECT_EQ(o.maps.uid_map[0].host, 1234u);
  EXPECT_EQ(o.maps.uid_map[1].container, 1u);
  EXPECT_EQ(o.maps.uid_map[1].host, 200000u);
  EXPECT_EQ(o.maps.gid_map[1].host, 300000u);
  EXPECT_EQ(o.maps.uid_method, MapMethod::helper);
  EXPECT_FALSE(o.maps.deny_setgroups);
}

TEST(NsOptionParsing, RootlessWithoutGrantsSelfMapsAndDeniesSetgroups) {
  NsOptions o = parse("{}", user(false));
  ASSERT_EQ(o.maps.uid_map.size(), 1u);
  EXPECT_EQ(o.maps.uid_map[0].host, 1234u);
  EXPECT_EQ(o.maps.uid_method, MapMethod::direct);
  EXPECT_EQ(o.maps.gid_method, MapMethod::direct);
  EXPECT_TRUE(o.maps.deny_setgroups);
}

TEST(NsOptionParsing, RootlessRefusesHostIdsItDoesNotOwn) {
  std::string e = error_of("{uid_map: [{container: 0, host: 100000, size: 10}]}", user(true));
  EXPECT_NE(e.find("stages[0].with.uid_map[0]: host uids 100000..100009 are not yours to map"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("/etc/subuid grants it (200000..265535)"), std::string::npos) << e;
  // Someone else's single id is no self-map either.
  EXPECT_NE(error_of("{gid_map: [{container: 0, host: 0, size: 1}]}", user(false))
                .find("host gids 0..0 are not yours"),
            std::string::npos);
}

TEST(NsOptionParsing, DefaultMapThatOverlapsItselfIsRefused) {
  Caller c = user(true);
  c.subuids = {{1000, 65536}};  // a grant that holds the user's own uid 1234
  std::string e = error_of("{}", c);
  EXPECT_NE(e.find("default uid_map (0:1234:1 1:1000:65536): host ids"), std::string::npos) << e;
}

TEST(NsOptionParsing, RootlessRangesNeedTheHelper) {
  Caller c = user(true);
  c.newuidmap.clear();
  EXPECT_NE(error_of("{}", c).find("needs newuidmap (package uidmap)"), std::string::npos);
}

TEST(NsOptionParsing, RootlessSelfMapCannotKeepSupplementaryGroups) {
  Config config = parse_config(
      "name: t\nprocess: {args: [/bin/true], user: {uid: 0, gid: 0, additional_gids: [0]}}\n"
      "stages: [{plugin: ns}]\n",
      "test.yaml", "/tmp");
  EXPECT_THROW(parse_options(config.stages[0].with, config, user(false)), ConfigError);
}

TEST(NsOptionParsing, RootlessNeedsAUserNamespace) {
  EXPECT_NE(error_of("{namespaces: [pid, net]}", user(true))
                .find("creating or joining namespaces needs a user namespace"),
            std::string::npos);
}

TEST(NsOptionParsing, HostnameNeedsANewUtsNamespace) {
  EXPECT_EQ(parse("{hostname: box, domainname: example.org}", root()).hostname, "box");
  EXPECT_EQ(parse("{}", root(), "hostname: web\n").hostname, "web");
  EXPECT_NE(error_of("{namespaces: [pid], hostname: box}", root())
                .find("stages[0].with.hostname: needs a new uts namespace"),
            std::string::npos);
  EXPECT_NE(error_of("{namespaces: [pid]}", root(), "hostname: web\n")
                .find("the config's hostname 'web' needs a new uts namespace"),
            std::string::npos);
  EXPECT_NE(error_of("{hostname: " + std::string(65, 'x') + "}", root()).find("at most 64"),
            std::string::npos);
}

TEST(NsOptionParsing, JoinsAreCheckedAndOrderedUserFirst) {
  NsOptions o =
      parse("{namespaces: [mount, uts], join: {net: /proc/self/ns/net, user: /proc/self/ns/user}}",
            root());
  ASSERT_EQ(o.joins.size(), 2u);
  EXPECT_EQ(o.joins[0].kind.name, "user");
  EXPECT_EQ(o.joins[1].kind.name, "net");
  EXPECT_EQ(o.created, uint64_t{CLONE_NEWNS | CLONE_NEWUTS});
  // Without an explicit list, joined kinds drop out of the defaults.
  EXPECT_FALSE(
      parse("{namespaces: [pid], join: {net: /proc/self/ns/net}}", root()).creates(CLONE_NEWNET));
}

TEST(NsOptionParsing, JoinRefusesBadPaths) {
  EXPECT_NE(error_of("{namespaces: [], join: {net: /proc/999999999/ns/net}}", root())
                .find("stages[0].with.join.net: open '/proc/999999999/ns/net': No such file"),
            std::string::npos);
  EXPECT_NE(error_of("{namespaces: [], join: {net: /proc/self/ns/pid}}", root())
                .find("is a pid namespace, not a net namespace"),
            std::string::npos);
  EXPECT_NE(error_of("{namespaces: [], join: {net: /etc/passwd}}", root())
                .find("is not a namespace file"),
            std::string::npos);
  EXPECT_NE(error_of("{join: {network: /proc/self/ns/net}}", root())
                .find("join.network: unknown namespace 'network'"),
            std::string::npos);
}

TEST(NsOptionParsing, JoinRefusesImpossibleCombinations) {
  EXPECT_NE(error_of("{namespaces: [net], join: {net: /proc/self/ns/net}}", root())
                .find("'net' is both created here and joined"),
            std::string::npos);
  // The default list has 'user': nothing existing can be joined from a new user namespace.
  EXPECT_NE(error_of("{join: {net: /proc/self/ns/net}}", root())
                .find("join.net: cannot be joined from a new user namespace"),
            std::string::npos);
  EXPECT_NE(error_of("{join: {user: /proc/self/ns/user}}", root())
                .find("a new pid namespace cannot be combined with joining a user namespace"),
            std::string::npos);
  EXPECT_NE(error_of("{namespaces: [mount], join: {user: /proc/self/ns/user}, "
                     "uid_map: [{container: 0, host: 0}]}",
                     root())
                .find("uid_map: the joined user namespace (join.user) already has its maps"),
            std::string::npos);
}

TEST(NsOptionParsing, RootlessJoinsOnlyWhatItMayJoin) {
  EXPECT_NE(error_of("{namespaces: [mount], join: {user: /proc/self/ns/user}}", user(true))
                .find("join.user: user namespace '/proc/self/ns/user' belongs to uid 0"),
            std::string::npos);
  EXPECT_NE(error_of("{namespaces: [user], join: {pid: /proc/self/ns/pid}}", user(true))
                .find("join.pid: joining a pid namespace needs CAP_SYS_ADMIN"),
            std::string::npos);
}

}  // namespace
}  // namespace modrt::ns
