// The cgroup stage: puts the workload into a cgroup of its own in every hierarchy that serves a
// controller it needs (v2 where the host offers it, v1 for the rest), with the configured limits;
// explains an OOM death; removes everything again, whatever happened.
#include <fcntl.h>
#include <unistd.h>

#include <memory>

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

// A v1 cgroup the workload moves itself into, through its `tasks` file opened on the host.
struct V1Join {
  std::string path;
  UniqueFd tasks;
};

// Runs in the workload, as its first step after the release (Context::workload_prologue).
// v1 has no clone-into. Moving the workload by pid (cgroup.procs) takes the kernel's global
// threadgroup lock for writing, which waits for an RCU grace period: 10-15 ms here, most of the
// startup. A single-threaded process moving itself through `tasks` ("0" = the calling thread)
// needs no such lock. The fds were opened on the host and v1 checks the opener's credentials, so
// this works from inside a user namespace too.
// It must come before every stage's apply_workload: the ns stage creates the cgroup namespace
// there, rooted at the cgroups the workload is in at that moment, so joining first is what makes
// the container see its own cgroups as "/" (and a mount of cgroupfs show only its own subtree).
// Each fd is closed right after use: opened by root, it could move any process into this cgroup,
// and an executor that never execs (a VMM) would otherwise keep it.
void join_v1_cgroups(std::vector<V1Join>& joins) {
  for (auto& j : joins) {
    if (!j.tasks) continue;
    if (::write(j.tasks.get(), "0", 1) != 1)
      throw_errno("cgroup stage: join v1 cgroup '{}'", j.path);
    j.tasks.reset();
  }
}

class CgroupStage final : public Stage {
 public:
  CgroupStage(Options options, Plan plan) : options_(std::move(options)), plan_(std::move(plan)) {}

  void prepare(Context& ctx) override {
    for (const auto& [controller, version] : plan_.drivers)
      ctx.log().info("controller {}: cgroup {}", controller, to_string(version));
    // One name for the container's cgroup in every hierarchy, drawn for this run: it is what lets
    // a rollback from the ledger alone know the cgroup is ours (see create_cgroup).
    const std::string leaf = unique_leaf_name(ctx.name());
    for (const auto& target : plan_.targets) {
      cgroups_.push_back(create_cgroup(ctx, target, options_.parent, leaf));
      LiveCgroup& made = cgroups_.back();
      ctx.log().debug("created {} cgroup {}", to_string(made.version), made.path.string());
      if (made.version == Version::v2) {
        // The core clones the workload straight into it (CLONE_INTO_CGROUP): no migration later.
        int fd = ::fcntl(made.dir.get(), F_DUPFD_CLOEXEC, 0);
        if (fd < 0) throw_errno("dup cgroup fd of '{}'", made.path.string());
        ctx.cgroup_fd = UniqueFd(fd);
      } else {
        joins_->push_back({made.path.string(),
                           with_context(fmt::format("open cgroup '{}'", made.path.string()), [&] {
                             return open_fd_at(made.dir.get(), "tasks", O_WRONLY);
                           })});
      }
    }
    if (!joins_->empty())
      ctx.workload_prologue.push_back([joins = joins_](Context&) { join_v1_cgroups(*joins); });
  }

  void apply_host(Context&) override {
    // The workload holds its own copies of the `tasks` fds from the clone.
    for (auto& j : *joins_) j.tasks.reset();
  }

  void on_exit(Context& ctx) noexcept override {
    explain_exit(ctx, cgroups_, options_.resources.memory_max);
  }

  void rollback(Context& ctx) override {
    // Closes our fds, so nothing of ours keeps a directory alive.
    cgroups_.clear();
    joins_->clear();
    remove_cgroups(ctx);  // throws naming what it could not remove; the ledger keeps those
  }

  std::vector<std::pair<std::string, std::string>> stats(Context& ctx) override {
    return read_usage(ctx.ledger());
  }

 private:
  Options options_;
  Plan plan_;
  std::vector<LiveCgroup> cgroups_;
  // Shared with the prologue step, which the workload runs on its own copy after the clone.
  std::shared_ptr<std::vector<V1Join>> joins_ = std::make_shared<std::vector<V1Join>>();
};

bool has_key_starting(const ConfigNode& with, std::string_view prefix) {
  if (!with.is_map()) return false;
  for (const auto& kv : with.yaml())
    if (kv.first.IsScalar() && kv.first.Scalar().rfind(prefix, 0) == 0) return true;
  return false;
}

std::unique_ptr<Stage> create(const ConfigNode& with, const Config& config) {
  // `modrt delete/gc/stats` recreate the stage from a run's state only to roll back or report:
  // both work from the ledger alone, so the host need not still pass the checks (an io.max device
  // may be gone, modrt may now run in another cgroup).
  if (config.recovering) return std::make_unique<CgroupStage>(Options{}, Plan{});
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
     "auto (v2 where modrt's cgroup delegates a controller, v1 for the rest) | v2 | v1; default "
     "auto"},
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
