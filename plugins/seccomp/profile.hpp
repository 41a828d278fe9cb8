// A syscall profile: what the seccomp filter does by default, for which architectures, and the
// rules that make exceptions. Profiles come from the built-in `default`, from a stage's `with:`
// block, or from a YAML file of the same shape; all three end up as this one type before libseccomp
// sees them.
#pragma once

#include <seccomp.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modrt/config.hpp"

namespace modrt::seccomp {

// What the filter does with a system call.
struct Action {
  enum class Kind { allow, errno_return, kill_process, kill_thread, trap, log };
  Kind kind = Kind::allow;
  int errno_value = 0;  // for errno_return

  static Action allow() { return {Kind::allow, 0}; }
  static Action fail_with(int code) { return {Kind::errno_return, code}; }
  static Action kill() { return {Kind::kill_process, 0}; }

  uint32_t to_libseccomp() const;
  // As written in a config: "allow", "errno(EPERM)", "kill", ...
  std::string to_string() const;
  // True when a system call under this action goes through (allow, log).
  bool lets_through() const { return kind == Kind::allow || kind == Kind::log; }
  bool operator==(const Action&) const = default;
};

// "allow", "log", "trap", "kill" (= kill_process), "kill_process", "kill_thread", "errno" (=
// EPERM), "errno(EPERM)", "errno(38)". nullopt when the text is none of these.
std::optional<Action> parse_action(std::string_view text);

// One comparison of a system call argument, in libseccomp's terms. For masked_eq, `value` is the
// mask and `value2` the value the masked argument must equal (the OCI convention).
struct ArgCondition {
  unsigned index = 0;  // 0..5
  scmp_compare op = SCMP_CMP_EQ;
  uint64_t value = 0;
  uint64_t value2 = 0;
  bool operator==(const ArgCondition&) const = default;
};

struct Rule {
  std::vector<std::string> names;
  Action action;
  std::vector<ArgCondition> args;  // all must hold (AND); none: the rule always matches
  // Where the rule was written, so filter errors name file:line:col; empty for built-in rules.
  std::optional<ConfigNode> source;
};

struct Profile {
  std::string label;  // "default", "custom", or the profile file's path: for logs and errors
  Action default_action = Action::fail_with(EPERM);
  // SCMP_ARCH_* tokens. Empty: the native architecture only. A system call through another ABI
  // the kernel offers (x86's int 0x80 or x32 on x86_64) then kills the process: it cannot walk
  // around the filter, and 32-bit programs do not run. Listing x86 and x32 lets them run under the
  // same rules, at about twenty times the compile cost (measured: 1.5 ms vs 25 ms).
  std::vector<uint32_t> architectures;
  std::vector<Rule> rules;
};

// Reads the keys `default_action`, `architectures` and `rules` of a map into `profile`: given keys
// replace the profile's default action and architectures; rules replace every earlier rule for the
// same system call names (so a config can loosen or tighten `default` one syscall at a time).
// Throws ConfigError naming the key on unknown syscalls, actions, architectures or operators.
void refine_profile(Profile& profile, const ConfigNode& block);

// A profile file: a YAML map with the keys above and nothing else.
Profile load_profile_file(const std::filesystem::path& file);

// Appends rules, removing the named system calls from every earlier rule first.
void override_rules(Profile& profile, std::vector<Rule> rules);

// The action the profile applies to a call of `name` whatever its arguments, or nullopt when that
// depends on the arguments (a rule with conditions names it).
std::optional<Action> unconditional_action(const Profile& profile, std::string_view name);

// The built-in profile, modelled on the container engines' default: an allowlist of the system
// calls ordinary programs use; EPERM for everything else (kernel modules, kexec, keyrings, bpf,
// perf, userfaultfd, open_by_handle_at, new namespaces and mounts...). Calls a kept capability
// makes legitimate (mount with CAP_SYS_ADMIN, ptrace-likes with CAP_SYS_PTRACE, ...) are allowed
// when `kept_capabilities` (a bit mask of CAP_* numbers) holds it.
Profile default_profile(uint64_t kept_capabilities);

// Syscall names the default profile lists that this libseccomp does not know (newer than it);
// the filter leaves them out (built-in rules only; a name in a config is an error) and they fall
// to the default action. The profile itself lists names unresolved: resolving ~350 names costs
// ~90 us, which a run that finds its filter in the cache never needs.
std::vector<std::string> default_profile_unknown_names();

}  // namespace modrt::seccomp
