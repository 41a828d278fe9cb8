#include "ns_stage.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

#include "join.hpp"
#include "map_writer.hpp"
#include "modrt/error.hpp"

namespace modrt::ns {

namespace {

// Namespaces the workload gets new at clone time. The time namespace never: see
// enter_new_time_namespace. With a joined user namespace, none: they must belong to the joined
// one, so the workload creates them itself after joining it.
uint64_t flags_for_the_clone(const NsOptions& opts) {
  if (opts.joined(CLONE_NEWUSER)) return 0;
  return opts.created & ~uint64_t{CLONE_NEWTIME};
}

std::string flag_names(uint64_t flags) {
  std::string out;
  for (const auto& kind : all_kinds()) {
    if (!(flags & kind.flag)) continue;
    if (!out.empty()) out += ",";
    out += kind.name;
  }
  return out.empty() ? "none" : out;
}

// "0:100000:65536 1000:1000:1" (container:host:size): one log line per map.
std::string compact(const std::vector<IdMapping>& map) {
  std::string out;
  for (const auto& m : map)
    out += fmt::format("{}{}:{}:{}", out.empty() ? "" : " ", m.container, m.host, m.size);
  return out;
}

const char* method_name(MapMethod method) {
  return method == MapMethod::helper ? "through the uidmap helper" : "written directly";
}

}  // namespace

void NsStage::prepare(Context& ctx) {
  ctx.clone_flags |= flags_for_the_clone(opts_);
  // Including those made inside the workload after a join.user (see apply_workload).
  ctx.namespaces |= opts_.created;
  if (opts_.init) ctx.init = true;
  for (const auto& j : opts_.joins) join_fds_.push_back(open_namespace_file(j.path, j.kind).fd);

  if (opts_.creates(CLONE_NEWUSER)) {
    ctx.uid_map = opts_.maps.uid_map;
    ctx.gid_map = opts_.maps.gid_map;
  } else if (const JoinTarget* user = opts_.joined(CLONE_NEWUSER)) {
    // Later stages (e.g. fs chowning an overlay) need the ids container root has on the host.
    std::tie(ctx.uid_map, ctx.gid_map) = read_user_namespace_maps(join_fds_[0].get(), user->path);
  }
  if (opts_.joined(CLONE_NEWPID)) join_pid_namespace_for_clone(ctx);

  uint64_t joined = 0;
  for (const auto& j : opts_.joins) joined |= j.kind.flag;
  ctx.log().debug("new namespaces: {}; joined: {}", flag_names(opts_.created), flag_names(joined));
  if (opts_.creates(CLONE_NEWUSER))
    ctx.log().debug("uid_map '{}' {}, gid_map '{}' {}{}", compact(ctx.uid_map),
                    method_name(opts_.maps.uid_method), compact(ctx.gid_map),
                    method_name(opts_.maps.gid_method),
                    opts_.maps.deny_setgroups ? ", setgroups denied" : "");
}

void NsStage::join_pid_namespace_for_clone(Context& ctx) {
  // setns(CLONE_NEWPID) moves only the namespace our next child is born in, never the caller,
  // so the clone that follows puts the workload into the joined namespace while modrt stays
  // where it is. apply_host (or rollback) points it back.
  const JoinTarget* pid = opts_.joined(CLONE_NEWPID);
  size_t index = static_cast<size_t>(pid - opts_.joins.data());
  own_pid_ns_ = open_fd("/proc/thread-self/ns/pid_for_children", O_RDONLY);
  join_namespace(join_fds_[index].get(), pid->kind, pid->path);
  ctx.log().debug("the workload will be born in pid namespace '{}'", pid->path);
}

void NsStage::restore_pid_namespace(Context& ctx) noexcept {
  if (!own_pid_ns_) return;
  if (::setns(own_pid_ns_.get(), CLONE_NEWPID) < 0)
    ctx.log().error("restore modrt's own pid namespace for its children: {}", strerror(errno));
  own_pid_ns_.reset();
}

void NsStage::apply_host(Context& ctx) {
  restore_pid_namespace(ctx);
  // The workload holds its own copies; ours would keep the namespaces alive past it.
  join_fds_.clear();
  if (!opts_.creates(CLONE_NEWUSER)) return;
  with_context(fmt::format("id maps of pid {}", ctx.pid),
               [&] { write_id_maps(ctx.pid, opts_.maps); });
}

void NsStage::apply_workload(Context& ctx) {
  // User first: the kernel checks every later join, and every namespace created below, against
  // the capabilities of the user namespace the process is in at that moment.
  for (size_t i = 0; i < opts_.joins.size(); ++i) {
    const JoinTarget& j = opts_.joins[i];
    if (j.kind.flag == CLONE_NEWPID) continue;  // the workload was born in it
    join_namespace(join_fds_[i].get(), j.kind, j.path);
  }
  join_fds_.clear();

  uint64_t unshare_now = 0;
  // A stage after ns may have asked the clone for a namespace of its own (net adds CLONE_NEWNET
  // and fills it from the host): that one exists already and must not be replaced.
  if (opts_.joined(CLONE_NEWUSER))
    unshare_now = opts_.created & ~uint64_t{CLONE_NEWTIME} & ~ctx.clone_flags;
  // A cgroup namespace is rooted at the cgroups its creator is in when it is made. At clone time
  // those were modrt's own (the kernel copies namespaces before CLONE_INTO_CGROUP places the
  // child); made again now, after every apply_host, it is rooted where the host side put the
  // workload, so the workload sees itself at "/". A stage that moves the workload from inside,
  // in its own apply_workload, runs after this and has to make it once more.
  if (opts_.creates(CLONE_NEWCGROUP)) unshare_now |= CLONE_NEWCGROUP;
  if (unshare_now && ::unshare(static_cast<int>(unshare_now)) < 0)
    throw_errno("create namespaces ({})", flag_names(unshare_now));

  if (opts_.creates(CLONE_NEWTIME)) enter_new_time_namespace(opts_.time_offsets);

  if (!opts_.hostname.empty() && ::sethostname(opts_.hostname.data(), opts_.hostname.size()) < 0)
    throw_errno("set hostname '{}'", opts_.hostname);
  if (!opts_.domainname.empty() &&
      ::setdomainname(opts_.domainname.data(), opts_.domainname.size()) < 0)
    throw_errno("set domainname '{}'", opts_.domainname);
}

void NsStage::rollback(Context& ctx) noexcept {
  restore_pid_namespace(ctx);
  join_fds_.clear();
}

std::vector<std::pair<std::string, std::string>> NsStage::stats(Context& ctx) {
  std::vector<std::pair<std::string, std::string>> out;
  if (ctx.pid <= 0) return out;
  auto link = [](const std::string& path) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(path, ec);
    return ec ? std::string() : target.string();
  };
  for (const auto& kind : all_kinds()) {
    std::string proc_name(kind.proc_name);
    std::string theirs = link(fmt::format("/proc/{}/ns/{}", ctx.pid, proc_name));
    if (theirs.empty()) continue;  // gone, or a kernel without this kind
    bool shared = theirs == link("/proc/self/ns/" + proc_name);
    out.emplace_back(std::string(kind.name), theirs + (shared ? " (host)" : ""));
  }
  return out;
}

}  // namespace modrt::ns
