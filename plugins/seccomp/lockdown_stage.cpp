#include "lockdown_stage.hpp"

#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "bpf_cache.hpp"
#include "modrt/error.hpp"
#include "modrt/fd.hpp"
#include "modrt/process.hpp"

namespace modrt::seccomp {

namespace {

// Where a stage sits in the config, or -1.
int position(const Config& config, std::string_view plugin) {
  for (size_t i = 0; i < config.stages.size(); ++i)
    if (config.stages[i].plugin == plugin) return static_cast<int>(i);
  return -1;
}

void check_order(const ConfigNode& with, const Config& config) {
  int self = position(config, "seccomp");
  // Mounting, pivot_root and sethostname need capabilities and system calls this stage takes away;
  // the stages that do them must have run before it.
  for (const char* earlier : {"ns", "fs"}) {
    int at = position(config, earlier);
    if (self >= 0 && at > self)
      with.fail(
          fmt::format("the seccomp stage (stages[{}]) must come after the {} stage "
                      "(stages[{}]): it takes away what {} needs to set the container up",
                      self, earlier, at, earlier));
  }
}

Profile choose_profile(const ConfigNode& with, const Config& config, const CapabilityPlan& caps,
                       bool& none) {
  std::optional<ConfigNode> node = with.find("profile");
  std::string name = node ? node->as_string() : "";
  bool refines = with.find("default_action") || with.find("rules") || with.find("architectures");
  none = name == "none";
  if (none) {
    if (refines)
      node->fail(
          "is none (no filter), so default_action, architectures and rules have no "
          "profile to refine; remove them or choose a profile");
    return {};
  }
  Profile profile;
  if (name.empty()) {
    // A default action without a profile means a profile written here from scratch.
    if (with.find("default_action"))
      profile.label = "custom";
    else
      profile = default_profile(caps.keep);
  } else if (name == "default") {
    profile = default_profile(caps.keep);
  } else if (name == "custom") {
    profile.label = "custom";
  } else if (name.find('/') != std::string::npos || name.find('.') != std::string::npos) {
    auto path = config.resolve(name);
    try {
      profile = load_profile_file(path);
    } catch (const ConfigError&) {
      throw;
    } catch (const Error& e) {
      node->fail(e.what());
    }
  } else {
    node->fail(
        fmt::format("unknown profile '{}' (expected default, none, custom, or the path of "
                    "a profile file such as ./profile.yaml)",
                    name));
  }
  refine_profile(profile, with);
  if (profile.label != "default" && profile.label != "custom" && refines)
    profile.label += " (refined)";
  else if (profile.label == "default" && refines)
    profile.label = "default (refined)";

  // The core's last step is execve: a profile that forbids it would fail every run, silently.
  auto exec = unconditional_action(profile, "execve");
  if (exec && !exec->lets_through())
    (node ? *node : with)
        .fail(fmt::format("profile '{}' gives execve the action {}; the workload could never start "
                          "(add a rule allowing execve)",
                          profile.label, exec->to_string()));
  return profile;
}

}  // namespace

Options parse_options(const ConfigNode& with, const Config& config) {
  with.expect_keys({"profile", "default_action", "architectures", "rules", "capabilities",
                    "no_new_privs", "rlimits", "cache"});
  check_order(with, config);
  Options options;
  options.capabilities = parse_capabilities(with.find("capabilities"));
  bool none = false;
  Profile profile = choose_profile(with, config, options.capabilities, none);
  if (!none) options.profile = std::move(profile);
  options.no_new_privs = with.bool_or("no_new_privs", true);
  if (auto limits = with.find("rlimits")) options.rlimits = parse_rlimits(*limits);
  options.cache = with.bool_or("cache", true);
  return options;
}

BpfProgram LockdownStage::compile_filter(Context& ctx) {
  const Profile& profile = *options_.profile;
  std::filesystem::path dir = ctx.state_root() / ".seccomp";
  std::string key;
  if (options_.cache) {
    key = cache_key(profile);
    if (auto cached = read_cached(dir, key)) {
      ctx.log().debug("compiled filter from the cache in {}", dir.string());
      return std::move(*cached);
    }
  }
  // Generating BPF is the slow part of a filter: here, on the host, and not inside the workload,
  // which only hands finished instructions to the kernel.
  BpfProgram program = SyscallFilter(profile).compile();
  if (options_.cache) {
    try {
      store_cached(dir, key, program);
    } catch (const Error& e) {
      ctx.log().debug("filter not cached: {}", e.what());
    }
  }
  return program;
}

void LockdownStage::prepare(Context& ctx) {
  if (!options_.profile) {
    ctx.log().debug("profile none: no syscall filter");
    return;
  }
  const Profile& profile = *options_.profile;
  // One seccomp(GET_ACTION_AVAIL) per distinct action, not per rule.
  std::vector<uint32_t> checked;
  auto check = [&](const Action& action, const char* what) {
    uint32_t kernel_action = action.to_libseccomp() & SECCOMP_RET_ACTION_FULL;
    if (std::find(checked.begin(), checked.end(), kernel_action) != checked.end()) return;
    if (!kernel_supports(action.to_libseccomp()))
      throw Error(fmt::format("this kernel does not support the seccomp action {} ({})",
                              action.to_string(), what));
    checked.push_back(kernel_action);
  };
  check(profile.default_action, "default_action");
  for (const auto& rule : profile.rules) check(rule.action, rule.names.front().c_str());
  program_ = compile_filter(ctx);
  ctx.log().debug("profile '{}': default action {}, {} syscall rules, {} BPF instructions",
                  profile.label, profile.default_action.to_string(), profile.rules.size(),
                  program_.code.size());
  // Resolving ~350 names again costs more than the rest of a cache hit: only for debug logs.
  if (profile.label.rfind("default", 0) == 0 && ctx.log().should_log(spdlog::level::debug)) {
    auto unknown = default_profile_unknown_names();
    if (!unknown.empty())
      ctx.log().debug(
          "libseccomp does not know {} syscall(s) of the default list; they get the "
          "default action: {}",
          unknown.size(), fmt::join(unknown, " "));
  }
}

void LockdownStage::apply_host(Context& ctx) {
  // Raising happens here, from the host: inside a user namespace the workload could not do it.
  if (options_.rlimits.empty()) return;
  with_context("rlimits", [&] { raise_rlimits(ctx.pid, options_.rlimits); });
}

void LockdownStage::apply_workload(Context& ctx) {
  const CapabilityPlan& plan = options_.capabilities;
  bool have_filter = !program_.empty();

  // Exact limits now that the stages before this one are done: their setup counts against them.
  if (!options_.rlimits.empty()) {
    with_context("rlimits", [&] { apply_rlimits(0, options_.rlimits); });
    for (const auto& l : options_.rlimits)
      ctx.log().debug("rlimit {}: soft {} hard {}", l.name,
                      l.soft ? format_limit(*l.soft) : "inherited",
                      l.hard ? format_limit(*l.hard) : "inherited");
  }

  // Without no_new_privs the kernel lets only a CAP_SYS_ADMIN holder load a filter, and that
  // capability is about to go: load it now (as runc does). What follows (prctl, capset, the set*id
  // calls) must then be allowed by the profile; `default` allows them.
  if (have_filter && !options_.no_new_privs)
    with_context("seccomp (before dropping capabilities, as no_new_privs is false)",
                 [&] { load(program_); });

  // Only the capabilities to keep are looked up (one prctl each), all of them for `ALL`.
  CapMask keep = plan.keep_all ? plan.keep & current_bounding_set() : plan.keep;
  if (CapMask missing = keep & ~current_bounding_set(keep))
    throw Error(
        fmt::format("capabilities: {} not in the bounding set modrt runs with ({}); "
                    "drop them from the config",
                    describe(missing), describe(current_bounding_set())));
  with_context("capabilities", [&] { drop_bounding_set(keep); });

  // Capabilities normally vanish when uid 0 becomes another uid; KEEPCAPS keeps the permitted set
  // across the switch so that the final sets below can still be raised (execve resets the flag).
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) throw_errno("prctl(PR_SET_KEEPCAPS)");
  with_context("switch user", [&] { switch_user(ctx); });
  with_context("capabilities", [&] { set_capability_sets(keep, plan.ambient & keep); });

  if (options_.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    throw_errno("prctl(PR_SET_NO_NEW_PRIVS)");

  // Last: after this only the core's final steps run (report, chdir, execve; see README.md), and
  // create() refused profiles that deny execve.
  if (have_filter && options_.no_new_privs) with_context("seccomp", [&] { load(program_); });
}

void LockdownStage::on_exit(Context& ctx) noexcept {
  if (!options_.profile || ctx.exit.exited || ctx.exit.code != SIGSYS) return;
  try {
    // The core prints the reason with the exit code.
    ctx.exit.reason = fmt::format(
        "was killed by SIGSYS: it made a system call that seccomp profile '{}' kills or traps",
        options_.profile->label);
  } catch (...) {
  }
}

std::vector<std::pair<std::string, std::string>> LockdownStage::stats(Context& ctx) {
  std::vector<std::pair<std::string, std::string>> out;
  if (ctx.pid <= 0) return out;
  std::string status;
  try {
    status = read_file(fmt::format("/proc/{}/status", ctx.pid));
  } catch (const Error&) {
    return out;  // gone
  }
  std::map<std::string, std::string> fields;
  size_t start = 0;
  while (start < status.size()) {
    size_t end = status.find('\n', start);
    if (end == std::string::npos) end = status.size();
    std::string line = status.substr(start, end - start);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      size_t value = line.find_first_not_of(" \t", colon + 1);
      fields[line.substr(0, colon)] = value == std::string::npos ? "" : line.substr(value);
    }
    start = end + 1;
  }
  static const char* kModes[] = {"disabled", "strict", "filter"};
  if (fields.count("Seccomp")) {
    int mode = std::atoi(fields["Seccomp"].c_str());
    std::string text = mode >= 0 && mode <= 2 ? kModes[mode] : fields["Seccomp"];
    if (fields.count("Seccomp_filters"))
      text += fmt::format(" ({} filters)", fields["Seccomp_filters"]);
    out.emplace_back("seccomp", text);
  }
  if (fields.count("NoNewPrivs")) out.emplace_back("no_new_privs", fields["NoNewPrivs"]);
  for (const auto& [field, key] :
       {std::pair{"CapEff", "capabilities.effective"}, std::pair{"CapBnd", "capabilities.bounding"},
        std::pair{"CapAmb", "capabilities.ambient"}}) {
    if (!fields.count(field)) continue;
    out.emplace_back(key, describe(std::strtoull(fields[field].c_str(), nullptr, 16)));
  }
  return out;
}

}  // namespace modrt::seccomp
