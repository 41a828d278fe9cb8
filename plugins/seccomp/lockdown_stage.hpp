// The `seccomp` stage: the last lock before exec. It narrows what the workload may ever do, in the
// one order that works: resource limits, the capability bounding set, the user switch (capabilities
// kept across it), the final capability sets, no_new_privs, and the syscall filter last of all.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "capabilities.hpp"
#include "filter.hpp"
#include "modrt/config.hpp"
#include "modrt/stage.hpp"
#include "profile.hpp"
#include "rlimits.hpp"

namespace modrt::seccomp {

struct Options {
  std::optional<Profile> profile;  // nullopt: `profile: none`, no filter
  CapabilityPlan capabilities;
  bool no_new_privs = true;
  std::vector<RlimitSetting> rlimits;
  bool cache = true;  // keep compiled filters in <state root>/.seccomp (see bpf_cache.hpp)
};

// Reads and validates the `with:` block (and the profile file it names). Throws ConfigError.
Options parse_options(const ConfigNode& with, const Config& config);

class LockdownStage final : public Stage {
 public:
  explicit LockdownStage(Options options) : options_(std::move(options)) {}

  void prepare(Context& ctx) override;
  void apply_host(Context& ctx) override;
  void apply_workload(Context& ctx) override;
  void on_exit(Context& ctx) noexcept override;
  // `modrt stats`: the filter mode, no_new_privs and capability sets the workload runs with, read
  // from /proc/PID/status (what is in force, not what the config asked for).
  std::vector<std::pair<std::string, std::string>> stats(Context& ctx) override;

 private:
  // The compiled filter: from the cache or libseccomp in prepare, loaded in apply_workload.
  BpfProgram compile_filter(Context& ctx);

  Options options_;
  BpfProgram program_;
};

}  // namespace modrt::seccomp
