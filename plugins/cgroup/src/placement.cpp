#include "placement.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "modrt/error.hpp"

namespace modrt::cgroup {

std::string v1_name(const std::string& controller) {
  return controller == "io" ? "blkio" : controller;
}

namespace {

// The config key that made a controller necessary, for the error message.
std::string first_key(const Resources& r, const std::string& controller) {
  for (const auto& w : v2_files(r))
    if (w.controller == controller) return w.key;
  return controller;
}

}  // namespace

Plan plan_placement(const HostLayout& layout, const Options& options) {
  const Resources& r = options.resources;
  const bool v2_allowed = options.driver != DriverChoice::v1 && layout.unified.has_value();
  const bool v1_allowed = options.driver != DriverChoice::v2;
  const std::set<std::string> offered = v2_allowed ? layout.v2_offered() : std::set<std::string>{};

  if (options.driver == DriverChoice::v2 && !layout.unified)
    throw PlacementError(
        fmt::format("driver v2: this host has no cgroup2 mount ({})", layout.describe()), "driver");
  if (options.driver == DriverChoice::v1 && layout.v1.empty())
    throw PlacementError(fmt::format("driver v1: this host has no cgroup v1 controller mounts ({})",
                                     layout.describe()),
                         "driver");

  // Where each controller goes; nullptr hierarchy = v2.
  std::map<std::string, const Hierarchy*> v1_of;
  std::set<std::string> on_v2;
  auto place = [&](const std::string& c, bool required) {
    if (offered.count(c)) {
      on_v2.insert(c);
      return;
    }
    const Hierarchy* h = v1_allowed ? layout.v1_for(v1_name(c)) : nullptr;
    if (h) {
      v1_of[c] = h;
      return;
    }
    if (!required) return;
    std::string key = first_key(r, c);
    if (v2_allowed && layout.unified->has(c)) {
      const Hierarchy& u = *layout.unified;
      throw PlacementError(
          fmt::format("{} needs the {} controller: {} is available in the cgroup2 hierarchy at {} "
                      "but not delegated to modrt's cgroup '/{}' (not in its "
                      "cgroup.subtree_control){}; modrt does not change cgroups it did not create",
                      key, c, c, u.mount.string(), u.own,
                      v1_allowed ? ", and no v1 hierarchy has it" : ""),
          key);
    }
    std::string why = options.driver == DriverChoice::v2 ? "driver v2 uses only cgroup2, and "
                      : options.driver == DriverChoice::v1
                          ? "driver v1 uses only v1 hierarchies, and "
                          : "";
    throw PlacementError(
        fmt::format("{} needs the {} controller, but {}no hierarchy this host offers has it ({})",
                    key, c, why, layout.describe()),
        key);
  };
  for (const auto& c : r.controllers()) place(c, true);
  if (options.accounting) {
    for (const char* c : {"memory", "pids"})
      if (!on_v2.count(c) && !v1_of.count(c)) place(c, false);
  }
  if (r.memory_swap_max && v1_of.count("memory") &&
      (!r.memory_max || *r.memory_max == kUnlimited) && *r.memory_swap_max != kUnlimited)
    throw PlacementError(
        "memory.swap.max needs a memory.max under cgroup v1, which limits memory and swap together",
        "memory.swap.max");

  Plan plan;
  if (v2_allowed) {
    Target t{*layout.unified, on_v2, {}};
    for (auto& w : v2_files(r))
      if (on_v2.count(w.controller)) t.writes.push_back(std::move(w));
    plan.targets.push_back(std::move(t));
  }
  // v1 extras: cpu usage comes from cpuacct when there is no v2 cgroup (whose cpu.stat always has
  // it), and the freezer lets rollback stop every task before killing when cgroup.kill is missing.
  std::set<const Hierarchy*> extra;
  if (v1_allowed && !v2_allowed) {
    if (options.accounting)
      if (const Hierarchy* h = layout.v1_for("cpuacct")) extra.insert(h);
    if (const Hierarchy* h = layout.v1_for("freezer")) extra.insert(h);
  }
  std::vector<FileWrite> v1_writes = v1_files(r);
  for (const auto& h : layout.v1) {
    Target t{h, {}, {}};
    for (const auto& [c, hier] : v1_of)
      if (hier == &h) t.controllers.insert(c);
    if (t.controllers.empty() && !extra.count(&h)) continue;
    for (const auto& w : v1_writes)
      if (t.controllers.count(w.controller)) t.writes.push_back(w);
    plan.targets.push_back(std::move(t));
  }
  for (const auto& c : on_v2) plan.drivers.emplace_back(c, Version::v2);
  for (const auto& [c, h] : v1_of) plan.drivers.emplace_back(c, Version::v1);
  std::sort(plan.drivers.begin(), plan.drivers.end());
  return plan;
}

}  // namespace modrt::cgroup
