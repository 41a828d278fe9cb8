// The ns stage: which namespaces the workload is created in or joins, its user-namespace id maps,
// its hostname and domainname, its clock offsets, and whether an init runs as its PID 1.
#pragma once

#include <vector>

#include "modrt/fd.hpp"
#include "modrt/stage.hpp"
#include "options.hpp"

namespace modrt::ns {

class NsStage : public Stage {
 public:
  explicit NsStage(NsOptions options) : opts_(std::move(options)) {}

  void prepare(Context& ctx) override;
  void apply_host(Context& ctx) override;
  void apply_workload(Context& ctx) override;
  // Nothing on the host belongs to this stage: namespaces die with the last process in them and
  // id maps live inside the workload's user namespace. The only thing to put back is modrt's own
  // pid_for_children when a pid namespace join was still in force.
  void rollback(Context& ctx) noexcept override;
  // One line per namespace kind of the running workload: its namespace, and whether that is the
  // host's (modrt's own) or not.
  std::vector<std::pair<std::string, std::string>> stats(Context& ctx) override;

 private:
  void join_pid_namespace_for_clone(Context& ctx);
  void restore_pid_namespace(Context& ctx) noexcept;

  NsOptions opts_;
  std::vector<UniqueFd> join_fds_;  // parallel to opts_.joins; the child uses its copies
  UniqueFd own_pid_ns_;             // modrt's pid_for_children while a pid join is in force
};

}  // namespace modrt::ns
