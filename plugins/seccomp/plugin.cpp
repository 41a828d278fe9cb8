// Entry point of modrt_seccomp.so.
#include "modrt/plugin.hpp"
#include "lockdown_stage.hpp"

namespace {

const modrt::OptionDoc kOptions[] = {
    {"profile", "default | none | custom | PATH of a YAML profile (default: default)"},
    {"default_action",
     "allow | log | trap | kill | kill_thread | errno(NAME|N): calls no rule matches"},
    {"architectures", "[x86_64, x86, x32, ...] (default: native and its compat ABIs)"},
    {"rules", "[{names: [...], action: ..., args: [{index, op, value, value2}]}]"},
    {"capabilities", "{add: [...], drop: [...], ambient: [...]} by name or ALL (default: 14 kept)"},
    {"no_new_privs", "bool (default: true)"},
    {"rlimits", "{nofile: {soft: 1024, hard: 4096}, core: 0, ...}"},
    {"cache", "bool: keep compiled filters in <root>/.seccomp across runs (default: true)"},
    {nullptr, nullptr},
};

std::unique_ptr<modrt::Stage> create(const modrt::ConfigNode& with, const modrt::Config& config) {
  // `modrt delete/gc/stats` recreate stages of a dead or running run: this stage has nothing to
  // roll back and reports from /proc, so it needs none of its options (a profile file may be gone).
  if (config.recovering)
    return std::make_unique<modrt::seccomp::LockdownStage>(modrt::seccomp::Options{});
  return std::make_unique<modrt::seccomp::LockdownStage>(
      modrt::seccomp::parse_options(with, config));
}

}  // namespace

MODRT_PLUGIN(
    {.api_version = modrt::kPluginApiVersion,
     .name = "seccomp",
     .version = "1.0",
     .description = "syscall filter (libseccomp), capabilities (libcap), no_new_privs, rlimits",
     .options = kOptions,
     .create = &create});
