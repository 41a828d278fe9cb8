// The `with:` block of the seccomp stage: what each key means and the error beside it.
#include <linux/capability.h>
#include <sys/resource.h>

#include <fstream>

#include <gtest/gtest.h>

#include "lockdown_stage.hpp"
#include "modrt/error.hpp"

namespace modrt::seccomp {
namespace {

// A config whose stages are `stages` (YAML list items) and whose seccomp `with:` is `with`.
struct Parsed {
  Config config;
  Options options;
};

std::string config_text(const std::string& with, const std::string& before = "",
                        const std::string& after = "") {
  return "name: t\nprocess: {args: [/bin/true]}\nstages:\n" + before + "  - plugin: seccomp\n" +
         "    with: " + with + "\n" + after;
}

Options parse(const std::string& with, const std::string& before = "",
              const std::string& after = "", const std::string& dir = "/tmp") {
  static Config config;  // ConfigNodes point into it
  config = parse_config(config_text(with, before, after), "test.yaml", dir);
  for (const auto& s : config.stages)
    if (s.plugin == "seccomp") return parse_options(s.with, config);
  throw std::logic_error("no seccomp stage");
}

// The ConfigError of parsing and building the stage, or "" when both succeed.
std::string error_of(const std::string& with, const std::string& before = "",
                     const std::string& after = "", const std::string& dir = "/tmp") {
  try {
    LockdownStage stage(parse(with, before, after, dir));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(SeccompOptions, DefaultsAreTheDefaultProfileFourteenCapabilitiesAndNoNewPrivs) {
  Options o = parse("{}");
  ASSERT_TRUE(o.profile);
  EXPECT_EQ(o.profile->label, "default");
  EXPECT_EQ(o.profile->default_action, Action::fail_with(EPERM));
  EXPECT_EQ(o.capabilities.keep, default_capabilities());
  EXPECT_EQ(__builtin_popcountll(o.capabilities.keep), 14);
  EXPECT_EQ(o.capabilities.ambient, 0u);
  EXPECT_TRUE(o.no_new_privs);
  EXPECT_TRUE(o.rlimits.empty());
}

TEST(SeccompOptions, ProfileNoneLoadsNoFilter) {
  Options o = parse("{profile: none, no_new_privs: false}");
  EXPECT_FALSE(o.profile);
  EXPECT_FALSE(o.no_new_privs);
}

TEST(SeccompOptions, ProfileNoneRefusesRules) {
  EXPECT_NE(error_of("{profile: none, rules: [{names: [getpid], action: kill}]}")
                .find("stages[0].with.profile: is none"),
            std::string::npos);
}

TEST(SeccompOptions, UnknownKeyIsNamed) {
  std::string e = error_of("{profil: default}");
  EXPECT_NE(e.find("stages[0].with.profil: unknown key 'profil' (did you mean 'profile'?)"),
            std::string::npos)
      << e;
}

TEST(SeccompOptions, UnknownProfileName) {
  std::string e = error_of("{profile: strict}");
  EXPECT_NE(e.find("stages[0].with.profile: unknown profile 'strict'"), std::string::npos) << e;
}

TEST(SeccompOptions, UnknownSyscallIsNamedWithItsPosition) {
  std::string e = error_of("{rules: [{names: [getpid, no_such_call], action: kill}]}");
  EXPECT_NE(e.find("test.yaml:5:"), std::string::npos) << e;
  EXPECT_NE(e.find("stages[0].with.rules[0].names[1]: unknown system call 'no_such_call'"),
            std::string::npos)
      << e;
}

TEST(SeccompOptions, NearMissesAreSuggested) {
  EXPECT_NE(error_of("{rules: [{names: [getpdi], action: kill}]}")
                .find("unknown system call 'getpdi' (did you mean 'getpid'?)"),
            std::string::npos);
  EXPECT_NE(error_of("{capabilities: {add: [NET_ADMN]}}")
                .find("unknown capability 'NET_ADMN' (did you mean 'NET_ADMIN'?)"),
            std::string::npos);
  EXPECT_NE(
      error_of("{capabilities: {add: [cap_sys_admn]}}").find("(did you mean 'CAP_SYS_ADMIN'?)"),
      std::string::npos);
  // A far miss gets no suggestion.
  EXPECT_EQ(error_of("{rules: [{names: [zzzzzzzz], action: kill}]}").find("did you mean"),
            std::string::npos);
}

TEST(SeccompOptions, BadActionIsNamed) {
  std::string e = error_of("{rules: [{names: [getpid], action: explode}]}");
  EXPECT_NE(e.find("stages[0].with.rules[0].action: unknown action 'explode'"), std::string::npos)
      << e;
  e = error_of("{default_action: errno(ENOTANERRNO)}");
  EXPECT_NE(e.find("stages[0].with.default_action: unknown action 'errno(ENOTANERRNO)'"),
            std::string::npos)
      << e;
}

TEST(SeccompOptions, Actions) {
  EXPECT_EQ(parse_action("allow"), Action::allow());
  EXPECT_EQ(parse_action("errno"), Action::fail_with(EPERM));
  EXPECT_EQ(parse_action("errno(EPERM)"), Action::fail_with(EPERM));
  EXPECT_EQ(parse_action("errno(ENOSYS)"), Action::fail_with(ENOSYS));
  EXPECT_EQ(parse_action("errno(5)"), Action::fail_with(5));
  EXPECT_EQ(parse_action("errno(ENOTSUP)"), Action::fail_with(EOPNOTSUPP));
  EXPECT_EQ(parse_action("kill"), Action::kill());
  EXPECT_EQ(parse_action("KILL_PROCESS"), Action::kill());
  EXPECT_EQ(parse_action("kill_thread")->kind, Action::Kind::kill_thread);
  EXPECT_EQ(parse_action("trap")->kind, Action::Kind::trap);
  EXPECT_EQ(parse_action("log")->kind, Action::Kind::log);
  EXPECT_FALSE(parse_action("errno()"));
  EXPECT_FALSE(parse_action("errno(0)"));
  EXPECT_FALSE(parse_action("deny"));
  EXPECT_EQ(Action::fail_with(EPERM).to_string(), "errno(EPERM)");
  EXPECT_EQ(Action::fail_with(ENOSYS).to_libseccomp(), SCMP_ACT_ERRNO(ENOSYS));
}

TEST(SeccompOptions, ArgumentConditions) {
  Options o = parse(
      "{rules: [{names: [personality], action: allow, args: [{index: 0, op: eq, value: 0}]},"
      "         {names: [clone], action: allow,"
      "          args: [{index: 0, op: masked_eq, value: 0x7E020000, value2: 0}]}]}");
  const Rule& r = o.profile->rules.at(o.profile->rules.size() - 2);
  ASSERT_EQ(r.names, std::vector<std::string>{"personality"});
  ASSERT_EQ(r.args.size(), 1u);
  EXPECT_EQ(r.args[0].op, SCMP_CMP_EQ);
  EXPECT_EQ(r.args[0].value, 0u);
  const Rule& c = o.profile->rules.back();
  EXPECT_EQ(c.args[0].op, SCMP_CMP_MASKED_EQ);
  EXPECT_EQ(c.args[0].value, 0x7E020000u);
}

TEST(SeccompOptions, BadArgumentConditions) {
  auto rule = [](const std::string& arg) {
    return error_of("{rules: [{names: [personality], action: allow, args: [" + arg + "]}]}");
  };
  EXPECT_NE(rule("{index: 6, op: eq, value: 0}").find("args[0].index: 6 is larger than 5"),
            std::string::npos);
  EXPECT_NE(rule("{index: 0, op: like, value: 0}").find("args[0].op: unknown comparison 'like'"),
            std::string::npos);
  EXPECT_NE(rule("{index: 0, op: eq, value: -1}").find("args[0].value: expected an unsigned"),
            std::string::npos);
  EXPECT_NE(rule("{index: 0, op: masked_eq, value: 8}").find("masked_eq needs value"),
            std::string::npos);
  EXPECT_NE(rule("{index: 0, op: eq, value: 1, value2: 2}").find("only masked_eq takes value2"),
            std::string::npos);
  EXPECT_NE(rule("{index: 0, op: eq, value: 1}, {index: 0, op: ne, value: 2}")
                .find("argument 0 is compared twice"),
            std::string::npos);
}

TEST(SeccompOptions, RulesReplaceTheDefaultProfilesRulesForTheirSyscalls) {
  Options o = parse("{rules: [{names: [getpid], action: kill}]}");
  EXPECT_EQ(o.profile->label, "default (refined)");
  EXPECT_EQ(unconditional_action(*o.profile, "getpid"), Action::kill());
  EXPECT_EQ(unconditional_action(*o.profile, "getppid"), Action::allow());
  for (size_t i = 0; i + 1 < o.profile->rules.size(); ++i) {
    const auto& names = o.profile->rules[i].names;
    EXPECT_EQ(std::count(names.begin(), names.end(), "getpid"), 0);
  }
}

TEST(SeccompOptions, DefaultActionWithoutProfileIsACustomProfile) {
  Options o = parse("{default_action: errno(ENOSYS), rules: [{names: [execve], action: allow}]}");
  EXPECT_EQ(o.profile->label, "custom");
  EXPECT_EQ(o.profile->default_action, Action::fail_with(ENOSYS));
  EXPECT_EQ(o.profile->rules.size(), 1u);
}

TEST(SeccompOptions, AProfileThatForbidsExecveIsRefused) {
  std::string e = error_of("{default_action: kill}");
  EXPECT_NE(e.find("gives execve the action kill"), std::string::npos) << e;
  e = error_of("{rules: [{names: [execve], action: errno}]}");
  EXPECT_NE(e.find("gives execve the action errno(EPERM)"), std::string::npos) << e;
  // Whether the arguments match is not knowable here: accepted.
  EXPECT_EQ(error_of("{default_action: kill, rules: [{names: [execve], action: allow, "
                     "args: [{index: 2, op: ne, value: 0}]}]}"),
            "");
}

TEST(SeccompOptions, ConflictingRulesAreRefusedAtTheRule) {
  std::string e = error_of(
      "{rules: [{names: [getpid], action: kill}, {names: [getppid, getpid], action: log}]}");
  EXPECT_NE(e.find("stages[0].with.rules[1]: 'getpid' also has a rule with action kill "
                   "(stages[0].with.rules[0])"),
            std::string::npos)
      << e;
  // Without args the first rule would decide for every call, the conditional one never.
  e = error_of(
      "{rules: [{names: [personality], action: allow, args: [{index: 0, op: eq, value: 0}]},"
      "         {names: [personality], action: kill}]}");
  EXPECT_NE(e.find("rules[1]: 'personality' also has a rule with action allow"), std::string::npos)
      << e;
  // Both conditional: libseccomp tells them apart; same arguments and different actions it refuses.
  EXPECT_EQ(error_of("{rules: [{names: [personality], action: allow, args: [{index: 0, op: eq, "
                     "value: 0}]}, {names: [personality], action: kill, args: [{index: 0, op: eq, "
                     "value: 8}]}]}"),
            "");
  e = error_of(
      "{rules: [{names: [personality], action: allow, args: [{index: 0, op: eq, "
      "value: 0}]}, {names: [personality], action: kill, args: [{index: 0, op: eq, "
      "value: 0}]}]}");
  EXPECT_NE(
      e.find("rules[1]: 'personality' already has a rule with the same args and action allow"),
      std::string::npos)
      << e;
}

TEST(SeccompOptions, Architectures) {
  Options o = parse("{architectures: [x86_64, SCMP_ARCH_X86, x32]}");
  EXPECT_EQ(o.profile->architectures,
            (std::vector<uint32_t>{SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32}));
  EXPECT_NE(error_of("{architectures: [x86]}").find("must include the native architecture"),
            std::string::npos);
  EXPECT_NE(error_of("{architectures: [x86_64, vax]}")
                .find("architectures[1]: unknown architecture 'vax'"),
            std::string::npos);
}

TEST(SeccompOptions, MustComeAfterNsAndFs) {
  std::string fs_after = "  - plugin: fs\n    with: {rootfs: /}\n";
  std::string e = error_of("{}", "", fs_after);
  EXPECT_NE(e.find("the seccomp stage (stages[0]) must come after the fs stage (stages[1])"),
            std::string::npos)
      << e;
  EXPECT_EQ(error_of("{}", "  - plugin: ns\n  - plugin: fs\n"), "");
  EXPECT_NE(error_of("{}", "", "  - plugin: ns\n").find("must come after the ns stage"),
            std::string::npos);
}

TEST(SeccompOptions, ProfileFileResolvesAgainstTheConfigFolder) {
  char tmpl[] = "/tmp/modrt-seccomp-unit-XXXXXX";
  ASSERT_TRUE(::mkdtemp(tmpl));
  std::string dir = tmpl;
  std::ofstream(dir + "/p.yaml") << "default_action: errno(EPERM)\n"
                                    "rules:\n"
                                    "  - names: [execve, exit_group, getpid]\n"
                                    "    action: allow\n";
  std::ofstream(dir + "/bad.yaml") << "default_action: allow\n"
                                      "rules:\n"
                                      "  - names: [getpid, frobnicate]\n"
                                      "    action: kill\n";
  Options o = parse("{profile: ./p.yaml}", "", "", dir);
  EXPECT_EQ(o.profile->label, dir + "/p.yaml");
  EXPECT_EQ(unconditional_action(*o.profile, "getpid"), Action::allow());
  EXPECT_EQ(unconditional_action(*o.profile, "mount"), Action::fail_with(EPERM));

  std::string e = error_of("{profile: bad.yaml}", "", "", dir);
  EXPECT_NE(e.find(dir + "/bad.yaml:3:"), std::string::npos) << e;
  EXPECT_NE(e.find("rules[0].names[1]: unknown system call 'frobnicate'"), std::string::npos) << e;

  e = error_of("{profile: ./missing.yaml}", "", "", dir);
  EXPECT_NE(
      e.find("stages[0].with.profile: seccomp profile '" + dir + "/missing.yaml': No such file"),
      std::string::npos)
      << e;
  std::filesystem::remove_all(dir);
}

TEST(SeccompCapabilities, Names) {
  EXPECT_EQ(capability_from_name("NET_ADMIN"), CAP_NET_ADMIN);
  EXPECT_EQ(capability_from_name("CAP_NET_ADMIN"), CAP_NET_ADMIN);
  EXPECT_EQ(capability_from_name("cap_sys_admin"), CAP_SYS_ADMIN);
  EXPECT_FALSE(capability_from_name("NET_WIZARD"));
  EXPECT_FALSE(capability_from_name("12"));
  EXPECT_EQ(capability_name(CAP_CHOWN), "CAP_CHOWN");
  EXPECT_EQ(describe(bit(CAP_CHOWN) | bit(CAP_KILL)), "CAP_CHOWN CAP_KILL");
  EXPECT_EQ(describe(0), "none");
}

TEST(SeccompCapabilities, AddAndDrop) {
  CapabilityPlan p =
      parse("{capabilities: {add: [SYS_ADMIN], drop: [NET_RAW, MKNOD]}}").capabilities;
  EXPECT_EQ(p.keep,
            (default_capabilities() | bit(CAP_SYS_ADMIN)) & ~bit(CAP_NET_RAW) & ~bit(CAP_MKNOD));
  EXPECT_FALSE(p.keep_all);

  p = parse("{capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}}").capabilities;
  EXPECT_EQ(p.keep, bit(CAP_NET_BIND_SERVICE));

  p = parse("{capabilities: {add: [ALL], drop: [SYS_MODULE]}}").capabilities;
  EXPECT_EQ(p.keep, all_capabilities() & ~bit(CAP_SYS_MODULE));
  EXPECT_TRUE(p.keep_all);

  p = parse("{capabilities: {drop: [all]}}").capabilities;
  EXPECT_EQ(p.keep, 0u);
}

TEST(SeccompCapabilities, Ambient) {
  CapabilityPlan p =
      parse("{capabilities: {add: [NET_ADMIN], ambient: [NET_ADMIN, NET_BIND_SERVICE]}}")
          .capabilities;
  EXPECT_EQ(p.ambient, bit(CAP_NET_ADMIN) | bit(CAP_NET_BIND_SERVICE));
  std::string e = error_of("{capabilities: {ambient: [SYS_ADMIN]}}");
  EXPECT_NE(e.find("capabilities.ambient: CAP_SYS_ADMIN is not kept"), std::string::npos) << e;
}

TEST(SeccompCapabilities, Errors) {
  std::string e = error_of("{capabilities: {add: [NET_WIZARD]}}");
  EXPECT_NE(e.find("stages[0].with.capabilities.add[0]: unknown capability 'NET_WIZARD'"),
            std::string::npos)
      << e;
  e = error_of("{capabilities: {add: [KILL], drop: [CAP_KILL]}}");
  EXPECT_NE(e.find("capabilities.drop: CAP_KILL is both added and dropped"), std::string::npos)
      << e;
  e = error_of("{capabilities: {keep: [KILL]}}");
  EXPECT_NE(e.find("capabilities.keep: unknown key 'keep'"), std::string::npos) << e;
}

TEST(SeccompRlimits, Parse) {
  Options o = parse(
      "{rlimits: {nofile: {soft: 1024, hard: 4096}, core: 0, RLIMIT_MEMLOCK: 64M,"
      " nproc: {hard: unlimited}}}");
  ASSERT_EQ(o.rlimits.size(), 4u);
  EXPECT_EQ(o.rlimits[0].name, "nofile");
  EXPECT_EQ(o.rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(o.rlimits[0].soft, 1024u);
  EXPECT_EQ(o.rlimits[0].hard, 4096u);
  EXPECT_EQ(o.rlimits[1].soft, 0u);
  EXPECT_EQ(o.rlimits[1].hard, 0u);
  EXPECT_EQ(o.rlimits[2].resource, RLIMIT_MEMLOCK);
  EXPECT_EQ(o.rlimits[2].hard, 64u << 20);
  EXPECT_FALSE(o.rlimits[3].soft);
  EXPECT_EQ(o.rlimits[3].hard, RLIM_INFINITY);
}

TEST(SeccompRlimits, Errors) {
  std::string e = error_of("{rlimits: {files: 10}}");
  EXPECT_NE(e.find("stages[0].with.rlimits.files: unknown resource limit 'files'"),
            std::string::npos)
      << e;
  e = error_of("{rlimits: {nofile: {soft: 10, hard: 5}}}");
  EXPECT_NE(e.find("rlimits.nofile: soft limit 10 is above the hard limit 5"), std::string::npos)
      << e;
  e = error_of("{rlimits: {nofile: 64M}}");
  EXPECT_NE(e.find("rlimits.nofile: expected a number or unlimited, got '64M'"), std::string::npos)
      << e;
  e = error_of("{rlimits: {nofile: {soft: 1, max: 2}}}");
  EXPECT_NE(e.find("rlimits.nofile.max: unknown key"), std::string::npos) << e;
  e = error_of("{rlimits: {nofile: 1, RLIMIT_NOFILE: 2}}");
  EXPECT_NE(e.find("is already set as 'nofile'"), std::string::npos) << e;
}

TEST(SeccompDefaultProfile, GuardedSyscallsFollowTheKeptCapabilities) {
  Profile plain = default_profile(default_capabilities());
  for (const char* name :
       {"mount", "umount2", "unshare", "setns", "pivot_root", "bpf", "perf_event_open", "keyctl",
        "add_key", "request_key", "kexec_load", "init_module", "finit_module", "delete_module",
        "open_by_handle_at", "userfaultfd"})
    EXPECT_EQ(unconditional_action(plain, name), Action::fail_with(EPERM)) << name;
  EXPECT_EQ(unconditional_action(plain, "ptrace"), Action::allow());
  EXPECT_EQ(unconditional_action(plain, "chroot"), Action::allow());  // CAP_SYS_CHROOT is kept
  EXPECT_EQ(unconditional_action(plain, "clone3"), Action::fail_with(ENOSYS));
  EXPECT_EQ(unconditional_action(plain, "clone"), std::nullopt);  // flags are checked
  EXPECT_EQ(unconditional_action(plain, "personality"), std::nullopt);

  Profile admin = default_profile(default_capabilities() | bit(CAP_SYS_ADMIN));
  for (const char* name : {"mount", "umount2", "unshare", "setns", "pivot_root", "clone", "clone3"})
    EXPECT_EQ(unconditional_action(admin, name), Action::allow()) << name;
  EXPECT_EQ(unconditional_action(admin, "keyctl"), Action::fail_with(EPERM));

  Profile none = default_profile(0);
  EXPECT_EQ(unconditional_action(none, "chroot"), Action::fail_with(EPERM));
}

TEST(SeccompDefaultProfile, LibseccompKnowsTheList) {
  // A name libseccomp does not know falls to EPERM; a few very new ones may, the bulk must not.
  auto unknown = default_profile_unknown_names();
  EXPECT_LE(unknown.size(), 5u) << ::testing::PrintToString(unknown);
}

}  // namespace
}  // namespace modrt::seccomp
