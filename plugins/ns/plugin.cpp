// Entry point of modrt_ns.so.
#include "modrt/plugin.hpp"

#include "caller.hpp"
#include "ns_stage.hpp"
#include "options.hpp"

namespace {

const modrt::OptionDoc kOptions[] = {
    {"namespaces",
     "list of user, pid, mount, uts, ipc, net, cgroup, time to create (default: all "
     "but time, and not those joined)"},
    {"join", "map of namespace -> path to join instead, e.g. {net: /proc/4711/ns/net}"},
    {"uid_map",
     "list of {container, host, size}; default: root's own ids 1:1, or rootless: "
     "0 -> you, 1.. -> your first /etc/subuid range"},
    {"gid_map", "like uid_map, for groups and /etc/subgid"},
    {"hostname", "hostname inside (default: the config's top-level hostname)"},
    {"domainname", "NIS domain name inside"},
    {"time_offsets", "{monotonic: 10s, boottime: -1h}: clock offsets in a new time namespace"},
    {"init", "true: a tiny init is PID 1, reaps orphans and forwards signals (default false)"},
    {nullptr, nullptr},
};

std::unique_ptr<modrt::Stage> create(const modrt::ConfigNode& with, const modrt::Config& config) {
  // `modrt delete/gc/stats` recreate stages from a dead run's state with a config that has no
  // process (a real run always has one). This stage has nothing to roll back, and its checks
  // (join paths of processes now gone, the caller's ids) no longer apply: skip them.
  if (config.process.args.empty())
    return std::make_unique<modrt::ns::NsStage>(modrt::ns::NsOptions{});
  return std::make_unique<modrt::ns::NsStage>(
      modrt::ns::parse_options(with, config, modrt::ns::Caller::current()));
}

}  // namespace

MODRT_PLUGIN({.api_version = modrt::kPluginApiVersion,
              .name = "ns",
              .version = "1.0",
              .description = "namespaces, user-namespace id maps, hostname, time offsets, init",
              .options = kOptions,
              .create = &create});
