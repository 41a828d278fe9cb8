// The cgroup stage: puts the workload into a cgroup of its own in every hierarchy that serves a
// controller it needs (v2 where the host offers it, v1 for the rest), with the configured limits;
// explains an OOM death; removes everything again, whatever happened.
#include <fcntl.h>

#include <fmt/format.h>

#include "cgroup_dirs.hpp"
#include "exit_reason.hpp"
#include "host_layout.hpp"
#include "modrt/error.hpp"
#include "modrt/plugin.hpp"
#include "placement.hpp"
#include "resources.hpp"
#include "teardown.hpp"
#include "usage_stats.hpp"

namespace modrt::cgroup {

namespace {

class CgroupStage final : public Stage {
 public:
  CgroupStage(Options options, Plan plan) : options_(std::move(options)), plan_(std::move(plan)) {}

  void prepare(Context& ctx) override {
    for (const auto& [controller, version] : plan_.drivers)
      ctx.log().info("controller {}: cgroup {}", controller, to_string(version));
    for (const auto& target : plan_.targets) {
      cgroups_.push_back(create_cgroup(ctx, target, options_.parent, ctx.name()));
      const LiveCgroup& made = cgroups_.back();
      ctx.log().debug("created {} cgroup {}", to_string(made.version), made.path.string());
      if (made.version == Version::v2) {
        // The core clones the workload straight into it (CLONE_INTO_CGROUP): no migration later.
        int fd = ::fcntl(made.dir.get(), F_DUPFD_CLOEXEC, 0);
        if (fd < 0) throw_errno("dup cgroup fd of '{}'", made.path.string());
        ctx.cgroup_fd = UniqueFd(fd);
      }
    }
  }

  void apply_host(Context& ctx) override {
    std::string pid = std::to_string(ctx.pid);
    for (const auto& c : cgroups_) {
      if (c.version == Version::v2) continue;  // the core cloned it straight in
      // v1 has no clone-into: move the workload while it waits at the sync point, before it runs
      // anything of its own, so all it will ever do is accounted and limited.
      with_context(fmt::format("move pid {} into cgroup '{}'", pid, c.path.string()),
                   [&] { write_file_at(c.dir.get(), "cgroup.procs", pid); });
    }
  }

  void on_exit(Context& ctx) noexcept override {
    explain_exit(ctx, cgroups_, options_.resources.memory_max);
  }

  void rollback(Context& ctx) noexcept override {
    cgroups_.clear();  // closes our fds, so nothing of ours keeps a directory alive
    remove_cgroups(ctx);
  }

  std::vector<std::pair<std::string, std::string>> stats(Context& ctx) override {
    return read_usage(ctx.ledger());
  }

 private:
  Options options_;
  Plan plan_;
  std::vector<LiveCgroup> cgroups_;
};

bool has_key_starting(const ConfigNode& with, std::string_view prefix) {
  if (!with.is_map()) return false;
  for (const auto& kv : with.yaml())
    if (kv.first.IsScalar() && kv.first.Scalar().rfind(prefix, 0) == 0) return true;
  return false;
}

std::unique_ptr<Stage> create(const ConfigNode& with, const Config&) {
  HostFacts facts =
      read_host_facts(has_key_starting(with, "cpuset."), has_key_starting(with, "hugetlb"));
  Options options = parse_options(with, facts);
  HostLayout layout = detect_layout();
  try {
    Plan plan = plan_placement(layout, options);
    return std::make_unique<CgroupStage>(std::move(options), std::move(plan));
  } catch (const PlacementError& e) {
    if (auto node = with.find(e.key())) node->fail(e.what());
    with.fail(e.what());
  }
}

constexpr OptionDoc kOptions[] = {
    {"driver",
     "auto (v2 where the host offers a controller, v1 for the rest) | v2 | v1; default auto"},
    {"parent",
     "absolute cgroup path to create the container's cgroup under; default <own cgroup>/modrt"},
    {"accounting", "also join memory and pids for `modrt stats` and OOM reports; default true"},
    {"memory.max", "hard memory limit: size (64M) or max"},
    {"memory.high", "memory throttling limit (v1: soft limit): size or max"},
    {"memory.swap.max", "swap limit: size or max (v1: needs memory.max)"},
    {"cpu.max", "CPU limit: 50% (of one CPU), 1.5 (CPUs), \"QUOTA PERIOD\" in µs, or max"},
    {"cpu.weight", "relative CPU weight 1..10000 (v1: cpu.shares)"},
    {"cpuset.cpus", "CPUs the workload may use, e.g. 0-1,3"},
    {"cpuset.mems", "memory nodes the workload may use, e.g. 0"},
    {"pids.max", "maximum number of tasks, or max"},
    {"io.max", "list of {device: /dev/sda, rbps, wbps, riops, wiops}"},
    {"io.weight", "relative IO weight 1..10000 (v1: blkio.weight)"},
    {"hugetlb.<size>.max", "hugepage limit per page size, e.g. hugetlb.2MB.max: 4M"},
    {nullptr, nullptr}};

}  // namespace

}  // namespace modrt::cgroup

MODRT_PLUGIN({.api_version = modrt::kPluginApiVersion,
              .name = "cgroup",
              .version = "1.0",
              .description = "cgroup v2 (v1 fallback) limits, OOM reporting, cleanup",
              .options = modrt::cgroup::kOptions,
              .create = &modrt::cgroup::create});
