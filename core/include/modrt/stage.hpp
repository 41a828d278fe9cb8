// The contract between the core and a stage. A run calls, in this order:
//
//   prepare(ctx)          every stage, config order, on the host, before the workload exists
//   -- the core clones the workload with ctx.clone_flags; it waits on a sync socket --
//   apply_host(ctx)       every stage, config order, on the host; ctx.pid / ctx.pidfd are valid
//   apply_workload(ctx)   every stage, config order, inside the workload, before exec
//   -- the executor replaces the workload (execve of process.args, or a backend's executor) --
//   on_exit(ctx)          every stage, config order, on the host, after the workload ended
//   rollback(ctx)         reverse order, on the host: on any failure, and as teardown after exit
//
// rollback runs for every stage whose prepare was entered (even if prepare threw), and also from
// `modrt delete/gc` on a fresh Stage with only the ledger of a dead run: it must work from
// ctx.ledger() alone and be idempotent. It tries every entry, forgets each one it undid (or found
// gone), and throws an Error naming the entries it could not undo, which stay in the ledger. The
// core still rolls back the stages before it, keeps the run's state dir, and `modrt gc` calls
// rollback again later with what is left.
#pragma once

#include "modrt/context.hpp"

namespace modrt {

class Stage {
 public:
  virtual ~Stage() = default;

  // Host, before the workload exists. Acquire host resources, record each in ctx.ledger() before
  // acquiring it (the record is journaled at once, so a crash in between leaves an entry whose undo
  // finds nothing rather than a resource nobody knows of), and set the Context fields the spawn
  // needs (clone_flags, maps, cgroup_fd). Throwing here stops the run; rollback follows.
  virtual void prepare(Context&) {}

  // Host, after the workload was cloned and before it runs anything of its own: ctx.pid is stopped
  // at the sync point. Things only the parent can do: write id maps, move into cgroups, create
  // links inside its netns.
  virtual void apply_host(Context&) {}

  // Inside the workload (its namespaces, its credentials before the user switch), single-threaded,
  // after apply_host completed. Throwing reports the error to the parent, which rolls back; the
  // process is then killed. Runs in config order, so a stage can rely on the stages before it
  // (fs after ns: the mount namespace exists).
  virtual void apply_workload(Context&) {}

  // Host, after the workload exited (ctx.exit is filled). Explain the exit (OOM, a limit), never
  // throw for failure to explain.
  virtual void on_exit(Context&) noexcept {}

  // Host: undo everything this stage did, reverse order of acquisition, from the ledger; throw
  // naming what could not be undone (see the top of this file). Not noexcept, for that.
  virtual void rollback(Context&) {}

  // `modrt stats NAME`: (key, value) lines about a running container, from the ledger. Host side.
  virtual std::vector<std::pair<std::string, std::string>> stats(Context&) { return {}; }
};

// What the workload finally becomes. Inside the workload, after every apply_workload.
class Executor {
 public:
  virtual ~Executor() = default;
  // Replaces the current process (or runs it to completion and _exit()s). Returns only by throwing;
  // an Error carrying errno ENOENT becomes exit code 127, EACCES/ENOEXEC 126.
  [[noreturn]] virtual void exec(Context&) = 0;
};

}  // namespace modrt
