#include "pipeline.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "modrt/error.hpp"
#include "modrt/process.hpp"
#include "modrt/stage.hpp"
#include "spawn.hpp"
#include "state.hpp"
#include "supervise.hpp"

namespace modrt {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Pipeline::Slot {
  StageConfig config;
  StageHandle stage;
  std::filesystem::path plugin_path;
  std::shared_ptr<spdlog::logger> log;
  Ledger ledger;
  bool started = false;
};

namespace {

std::shared_ptr<spdlog::logger> stage_logger(const std::string& name) {
  auto log = spdlog::default_logger()->clone(name);
  return log;
}

// Runs one hook of one stage, timed; errors get the stage's name in front.
template <typename Fn>
void run_hook(Context& ctx, Pipeline::Slot& slot, const char* phase, std::vector<Timing>& timings,
              Fn&& fn) {
  ctx.enter_stage(slot.config.plugin, *slot.log, slot.ledger);
  auto start = Clock::now();
  try {
    fn();
  } catch (const Error& e) {
    timings.push_back({slot.config.plugin, phase, Clock::now() - start});
    throw e.wrap(fmt::format("stage '{}': {}", slot.config.plugin, phase));
  } catch (const std::exception& e) {
    timings.push_back({slot.config.plugin, phase, Clock::now() - start});
    throw Error(fmt::format("stage '{}': {}: {}", slot.config.plugin, phase, e.what()));
  }
  auto elapsed = Clock::now() - start;
  timings.push_back({slot.config.plugin, phase, elapsed});
  slot.log->debug("{} took {:.3f} ms", phase,
                  std::chrono::duration<double, std::milli>(elapsed).count());
}

// Termination signals that arrived during setup are pending (blocked); they stop the setup.
void check_interrupted() {
  sigset_t pending;
  sigpending(&pending);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) {
    if (sigismember(&pending, sig))
      throw RunError(fmt::format("interrupted by {} during setup", sigabbrev_np(sig)), EINTR,
                     128 + sig);
  }
}

std::vector<std::string> exec_env(const Process& process) {
  std::vector<std::string> env = process.env;
  bool has_path = false;
  for (const auto& e : env) has_path = has_path || e.rfind("PATH=", 0) == 0;
  if (!has_path)
    env.insert(env.begin(), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  if (process.terminal) {
    bool has_term = false;
    for (const auto& e : env) has_term = has_term || e.rfind("TERM=", 0) == 0;
    if (!has_term) env.push_back("TERM=xterm");
  }
  return env;
}

// The default executor: execve of process.args, looked up in the container's PATH.
[[noreturn]] void exec_process(const Process& process) {
  std::vector<std::string> env = exec_env(process);
  std::vector<char*> argv, envp;
  for (const auto& a : process.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::string path_list;
  for (auto& e : env) {
    envp.push_back(e.data());
    if (e.rfind("PATH=", 0) == 0) path_list = e.substr(5);
  }
  envp.push_back(nullptr);
  if (::chdir(process.cwd.c_str()) < 0)
    throw_errno("chdir to the working directory '{}'", process.cwd);
  const std::string& command = process.args[0];
  if (command.find('/') != std::string::npos) {
    ::execve(command.c_str(), argv.data(), envp.data());
    throw_errno("exec '{}'", command);
  }
  int first_error = ENOENT;
  size_t start = 0;
  while (start <= path_list.size()) {
    size_t end = path_list.find(':', start);
    if (end == std::string::npos) end = path_list.size();
    std::string dir = path_list.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + command;
    ::execve(candidate.c_str(), argv.data(), envp.data());
    // Keep looking past a missing file; remember that one existed but could not run.
    if (errno != ENOENT && errno != ENOTDIR && first_error == ENOENT) first_error = errno;
    start = end + 1;
  }
  errno = first_error;
  throw_errno("exec '{}' (searched PATH={})", command, path_list);
}

// Everything the workload does between the clone and the exec. Never returns.
[[noreturn]] void workload_main(Context& ctx, std::vector<Pipeline::Slot>& slots, int sync_fd,
                                const Pty* pty) {
  std::string stage = "core";
  std::string phase = "start";
  try {
    // If modrt dies, the workload must not live on unsupervised. The kernel clears the signal at
    // every credential change; each one (switch_user, the fs stage becoming the user namespace's
    // root) sets it again through keep_parent_death_signal().
    watch_parent(sync_fd);
    keep_parent_death_signal();
    // The journal is modrt's: what a stage records in here is not the host's to roll back.
    for (auto& slot : slots) slot.ledger.set_observer(nullptr);
    if (pty) pty->attach_as_controlling_terminal();
    char go = 0;
    ssize_t n;
    do n = ::read(sync_fd, &go, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1 || go != 'G') ::_exit(125);  // the parent gave up; it reports why

    // The workload starts with default dispositions whatever modrt inherited: a modrt started as a
    // shell's background job has SIGINT and SIGQUIT ignored, which would make the container's
    // processes deaf to the SIGINT the supervisor forwards.
    for (int sig = 1; sig < NSIG; ++sig)
      if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
    sigset_t forwarded = forwarded_signals();
    ::sigprocmask(SIG_UNBLOCK, &forwarded, nullptr);

    std::vector<WorkloadTiming> timings;
    phase = "prologue";
    if (!ctx.workload_prologue.empty()) {
      send_step(sync_fd, stage, phase);
      auto start = Clock::now();
      for (auto& step : ctx.workload_prologue) step(ctx);
      timings.push_back({stage, phase, Clock::now() - start});
    }
    phase = "apply_workload";
    for (auto& slot : slots) {
      stage = slot.config.plugin;
      send_step(sync_fd, stage, phase);
      ctx.enter_stage(slot.config.plugin, *slot.log, slot.ledger);
      auto start = Clock::now();
      slot.stage->apply_workload(ctx);
      timings.push_back({stage, phase, Clock::now() - start});
    }
    stage = "core";
    phase = "exec";
    send_step(sync_fd, stage, phase);
    switch_user(ctx);
    send_ready(sync_fd, timings);
    // Only stdin, stdout and stderr cross into the workload: whatever else modrt's caller left
    // open (without close-on-exec) closes at the exec.
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) throw_errno("mark fds close-on-exec");
    if (ctx.init) become_init();
    if (ctx.executor) ctx.executor->exec(ctx);
    exec_process(ctx.process);
  } catch (const Error& e) {
    send_error(sync_fd, {stage, phase, e.error_code(), e.what()});
  } catch (const std::exception& e) {
    send_error(sync_fd, {stage, phase, 0, e.what()});
  } catch (...) {
    send_error(sync_fd, {stage, phase, 0, "unknown exception"});
  }
  ::_exit(125);
}

void kill_and_reap(pid_t pid, int pidfd) {
  if (pid <= 0) return;
  ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// After the sync socket closed with no report: waits (briefly) for the workload to end, reaps it,
// and says how it ended. One that lives on, having closed its end itself, is killed.
std::string reap_setup_death(pid_t pid, int pidfd) {
  pollfd ended{pidfd, POLLIN, 0};
  int ready;
  do ready = ::poll(&ended, 1, 2000);
  while (ready < 0 && errno == EINTR);
  if (ready <= 0) {
    kill_and_reap(pid, pidfd);
    return "it closed its end of modrt's sync socket and was killed";
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status))
    return fmt::format("killed by SIG{} ({})", sigabbrev_np(WTERMSIG(status)),
                       strsignal(WTERMSIG(status)));
  return fmt::format("it exited with code {} without a report", WEXITSTATUS(status));
}

class SignalMask {
 public:
  explicit SignalMask(const sigset_t& block) { ::sigprocmask(SIG_BLOCK, &block, &saved_); }
  ~SignalMask() { ::sigprocmask(SIG_SETMASK, &saved_, nullptr); }

 private:
  sigset_t saved_;
};

int exit_code_for(const WorkloadError& error) {
  if (error.phase == "exec" && error.message.rfind("exec ", 0) == 0) {
    if (error.error_code == ENOENT || error.error_code == ENOTDIR) return 127;
    if (error.error_code == EACCES || error.error_code == ENOEXEC || error.error_code == EPERM)
      return 126;
  }
  return 125;
}

}  // namespace

Pipeline::Pipeline(const Config& config, PluginLoader& loader) : config_(config), loader_(loader) {
  for (const auto& sc : config.stages) {
    const LoadedPlugin* plugin = nullptr;
    try {
      plugin = &loader.load(sc.plugin);
    } catch (const Error& e) {
      throw ConfigError(fmt::format("{}: {}", sc.location, e.what()));
    }
    auto create = [&]() -> StageHandle {
      try {
        return loader.create_stage(*plugin, sc.with, config);
      } catch (const ConfigError&) {
        throw;
      } catch (const std::exception& e) {
        throw ConfigError(fmt::format("{}: stage '{}': {}", sc.location, sc.plugin, e.what()));
      }
    };
    StageHandle stage = create();
    slots_.push_back(
        Slot{sc, std::move(stage), plugin->path, stage_logger(sc.plugin), Ledger{}, false});
  }
}

Pipeline::~Pipeline() = default;

nlohmann::json Pipeline::state_json() const {
  ProcessIdentity self = ProcessIdentity::self();
  nlohmann::json stages = nlohmann::json::array();
  for (const auto& slot : slots_)
    stages.push_back({{"plugin", slot.config.plugin}, {"path", slot.plugin_path.string()}});
  // The config's own text (not a re-emitted copy) lets `modrt gc` recreate each stage from exactly
  // the `with:` block it ran with, with its line numbers.
  return {{"version", 1},
          {"name", config_.name},
          {"config_text", config_.text},
          {"config_file", fs::absolute(config_.file).string()},
          {"config_dir", config_.dir.string()},
          {"modrt_pid", self.pid},
          {"modrt_start_time", self.start_time},
          {"stages", stages}};
}

void Pipeline::journal(const std::vector<nlohmann::json>& events) {
  if (state_) state_->append(events);
}

void Pipeline::journal_ledgers() {
  for (size_t i = 0; i < slots_.size(); ++i) {
    slots_[i].ledger.set_observer([this, i](const Ledger::Entry& e, bool recorded) {
      nlohmann::json event = {{"stage", i}, {recorded ? "record" : "forget", {e.kind, e.value}}};
      if (recorded) {
        journal({event});
        return;
      }
      // A forget that does not reach the journal only makes a later gc retry an undo that is
      // already done, which every rollback tolerates.
      try {
        journal({event});
      } catch (const std::exception& err) {
        spdlog::warn("could not update the state journal: {}", err.what());
      }
    });
  }
}

std::vector<std::string> Pipeline::rollback_started(Context& ctx) noexcept {
  std::vector<std::string> failed;
  for (size_t i = slots_.size(); i-- > 0;) {
    Slot& slot = slots_[i];
    if (!slot.started) continue;
    ctx.enter_stage(slot.config.plugin, *slot.log, slot.ledger);
    auto start = Clock::now();
    std::string failure;
    try {
      slot.stage->rollback(ctx);
    } catch (const std::exception& e) {
      failure = e.what();
    } catch (...) {
      failure = "an unknown exception";
    }
    timings_.push_back({slot.config.plugin, "rollback", Clock::now() - start});
    if (!failure.empty()) {
      slot.log->error("rollback failed: {}", failure);
      failed.push_back(fmt::format("stage '{}': {}", slot.config.plugin, failure));
      continue;  // stays started: `modrt gc` tries again with what its ledger still holds
    }
    slot.started = false;
    try {
      journal({{{"stage", i}, {"started", false}}});
    } catch (const std::exception& e) {
      spdlog::warn("could not update the state journal: {}", e.what());
    }
  }
  return failed;
}

int Pipeline::run(const RunOptions& options) {
  auto run_start = Clock::now();
  SignalMask blocked(forwarded_signals());
  StateRoot root = StateRoot::open(options.state_root, /*create=*/true);
  ContainerName name = ContainerName::parse(config_.name, "name");
  StateDir state = StateDir::create(root, name, state_json(), [&](StateDir& stale) {
    spdlog::warn("found the state of a dead run of '{}'; rolling back what it left", config_.name);
    recover_dead_run(stale, loader_);
  });
  state_ = &state;
  journal_ledgers();
  Context ctx(config_, state.path());

  Cloned workload;
  UniqueFd parent_sync;
  std::optional<Pty> pty;
  int exit_code = 0;
  try {
    for (size_t i = 0; i < slots_.size(); ++i) {
      Slot& slot = slots_[i];
      // Journaled before the hook: a crash inside prepare still gets this stage rolled back.
      journal({{{"stage", i}, {"started", true}}});
      slot.started = true;
      run_hook(ctx, slot, "prepare", timings_, [&] { slot.stage->prepare(ctx); });
      check_interrupted();
    }

    if (ctx.process.terminal) {
      pty.emplace(Pty::open());
      // The terminal belongs to the user the workload runs as, seen from the host: otherwise, in a
      // user namespace, the container cannot reopen its own console (/dev/console, /dev/tty).
      auto uid = ctx.uid_map.empty() ? std::optional(ctx.process.user.uid)
                                     : map_to_host(ctx.uid_map, ctx.process.user.uid);
      auto gid = ctx.gid_map.empty() ? std::optional(ctx.process.user.gid)
                                     : map_to_host(ctx.gid_map, ctx.process.user.gid);
      if (uid && gid && ::fchown(pty->slave.get(), *uid, *gid) < 0)
        throw_errno("give the terminal to uid {} gid {}", *uid, *gid);
    }
    FdPair sync = socket_pair(SOCK_SEQPACKET);
    sigset_t signals = forwarded_signals();
    UniqueFd signal_fd(::signalfd(-1, &signals, SFD_CLOEXEC));
    if (!signal_fd) throw_errno("signalfd");

    auto spawn_start = Clock::now();
    ctx.namespaces |= ctx.clone_flags;
    workload = clone_workload(ctx.clone_flags, ctx.cgroup_fd.get());
    if (workload.pid == 0) {
      sync.first.reset();
      if (pty) pty->master.reset();
      workload_main(ctx, slots_, sync.second.get(), pty ? &*pty : nullptr);
    }
    timings_.push_back({"core", "spawn", Clock::now() - spawn_start});
    parent_sync = std::move(sync.first);
    sync.second.reset();
    if (pty) pty->slave.reset();
    ctx.pid = workload.pid;
    ctx.pidfd = workload.pidfd.get();
    journal({{{"workload_pid", workload.pid},
              {"workload_start_time", ProcessIdentity::start_time_of(workload.pid)}}});
    if (ctx.cgroup_fd && !workload.joined_cgroup) {
      write_file_at(ctx.cgroup_fd.get(), "cgroup.procs", std::to_string(workload.pid));
    }
    ctx.cgroup_fd.reset();

    for (auto& slot : slots_) {
      run_hook(ctx, slot, "apply_host", timings_, [&] { slot.stage->apply_host(ctx); });
    }
    check_interrupted();

    auto exec_start = Clock::now();
    if (::send(parent_sync.get(), "G", 1, MSG_NOSIGNAL) != 1)
      throw_errno("release the workload (it died during setup?)");
    WorkloadReport report = read_report(parent_sync.get());
    for (const auto& t : report.timings) timings_.push_back({t.stage, t.phase, t.duration});
    timings_.push_back({"core", "release→exec", Clock::now() - exec_start});
    if (report.error) {
      const WorkloadError& e = *report.error;
      std::string where =
          e.stage == "core" ? e.phase : fmt::format("stage '{}': {}", e.stage, e.phase);
      throw RunError(fmt::format("{}: {}", where, e.message), e.error_code, exit_code_for(e));
    }
    if (!report.ready) {
      // Neither ready nor an error: the setup inside died (a crash in a stage's apply_workload),
      // which must not pass for the workload's own exit.
      std::string where = report.stage == "core"
                              ? report.phase
                              : fmt::format("stage '{}': {}", report.stage, report.phase);
      std::string how = reap_setup_death(workload.pid, workload.pidfd.get());
      workload.pid = -1;
      throw RunError(fmt::format("{}: the workload's setup died before the exec: {}", where, how),
                     0, 125);
    }
    timings_.push_back({"core", "start (total)", Clock::now() - run_start});
    // The supervisor lives as long as the workload: give back the heap the setup used.
    ::malloc_trim(0);

    ctx.exit =
        supervise(workload.pid, workload.pidfd.get(), signal_fd.get(), pty ? &*pty : nullptr);
    workload.pid = -1;
    for (auto& slot : slots_) {
      ctx.enter_stage(slot.config.plugin, *slot.log, slot.ledger);
      slot.stage->on_exit(ctx);
    }
    exit_code = ctx.exit.override_code >= 0 ? ctx.exit.override_code : ctx.exit.exit_code();
    if (!ctx.exit.reason.empty())
      spdlog::warn("workload of '{}' {} (exit code {})", config_.name, ctx.exit.reason, exit_code);
    else if (!ctx.exit.exited)
      spdlog::info("workload of '{}' was killed by {}", config_.name, sigabbrev_np(ctx.exit.code));
  } catch (const RunError&) {
    kill_and_reap(workload.pid, workload.pidfd.get());
    finish(ctx, state);
    throw;
  } catch (const Error& e) {
    kill_and_reap(workload.pid, workload.pidfd.get());
    finish(ctx, state);
    throw RunError(e.what(), e.error_code(), 125);
  } catch (const std::exception& e) {
    kill_and_reap(workload.pid, workload.pidfd.get());
    finish(ctx, state);
    throw RunError(e.what(), 0, 125);
  }
  finish(ctx, state);
  return exit_code;
}

void Pipeline::finish(Context& ctx, StateDir& state) noexcept {
  std::vector<std::string> failed = rollback_started(ctx);
  state_ = nullptr;
  for (auto& slot : slots_) slot.ledger.set_observer(nullptr);
  if (failed.empty()) {
    try {
      state.remove();
      return;
    } catch (const std::exception& e) {
      failed.push_back(e.what());
    }
  }
  // What could not be undone stays on record: the next `modrt gc` (or a run of the same name)
  // retries it from the journal.
  state.keep();
  std::string what;
  for (const auto& f : failed) what += "\n  " + f;
  spdlog::error("'{}' could not be cleaned up completely; its state stays in {} for `modrt gc`:{}",
                config_.name, state.path().string(), what);
}

std::string Pipeline::format_timings(const std::vector<Timing>& timings) {
  std::string out = fmt::format("{:<10} {:<16} {:>10}\n", "stage", "phase", "ms");
  for (const auto& t : timings)
    out += fmt::format("{:<10} {:<16} {:>10.3f}\n", t.stage, t.phase,
                       std::chrono::duration<double, std::milli>(t.duration).count());
  return out;
}

void recover_dead_run(StateDir& dead, PluginLoader& loader) {
  nlohmann::json state = dead.load();
  // The workload of a dead modrt dies with it (PDEATHSIG), but make sure before undoing anything;
  // only the process the journal names, never whoever holds its pid now.
  ProcessIdentity workload{state.value("workload_pid", -1),
                           state.value("workload_start_time", 0ull)};
  if (workload.kill()) spdlog::info("killed the dead run's workload (pid {})", workload.pid);

  std::vector<std::string> failed;
  Config config;
  try {
    config = parse_config(state.value("config_text", ""), state.value("config_file", ""),
                          state.value("config_dir", "/"));
  } catch (const std::exception& e) {
    throw Error(
        fmt::format("cannot re-read the config of '{}' from its state: {}", dead.name(), e.what()));
  }
  config.name = dead.name();
  config.recovering = true;
  struct Dead {
    size_t index;
    std::string plugin;
    StageHandle stage;
    Ledger ledger;
  };
  std::vector<Dead> stages;
  const auto& saved = state.value("stages", nlohmann::json::array());
  for (size_t i = 0; i < saved.size(); ++i) {
    const auto& entry = saved[i];
    if (!entry.value("started", false)) continue;
    std::string plugin_name = entry.value("plugin", "");
    // Entries are journaled before the stage acquires anything: with none, there is nothing to
    // undo, and no need to recreate a stage whose config may no longer fit the host (a joined
    // namespace whose owner is gone).
    if (entry.value("ledger", nlohmann::json::array()).empty()) {
      dead.append({{{"stage", i}, {"started", false}}});
      continue;
    }
    try {
      const StageConfig* sc = config.stage(plugin_name);
      if (!sc) throw Error("the saved config has no such stage");
      LoadedPlugin plugin = loader.load_file(entry.value("path", ""));
      StageHandle stage = loader.create_stage(plugin, sc->with, config);
      Ledger ledger;
      for (const auto& item : entry.value("ledger", nlohmann::json::array()))
        ledger.record(item.at(0).get<std::string>(), item.at(1).get<std::string>());
      stages.push_back({i, plugin_name, std::move(stage), std::move(ledger)});
    } catch (const std::exception& e) {
      failed.push_back(
          fmt::format("stage '{}': cannot recreate it to roll back: {}", plugin_name, e.what()));
    }
  }
  Context ctx(config, dead.path());
  for (auto it = stages.rbegin(); it != stages.rend(); ++it) {
    auto log = stage_logger(it->plugin);
    size_t index = it->index;
    it->ledger.set_observer([&dead, index](const Ledger::Entry& e, bool recorded) {
      dead.append({{{"stage", index}, {recorded ? "record" : "forget", {e.kind, e.value}}}});
    });
    ctx.enter_stage(it->plugin, *log, it->ledger);
    try {
      it->stage->rollback(ctx);
      dead.append({{{"stage", index}, {"started", false}}});
    } catch (const std::exception& e) {
      failed.push_back(fmt::format("stage '{}': {}", it->plugin, e.what()));
    }
  }
  if (!failed.empty()) {
    std::string what;
    for (const auto& f : failed) what += "\n  " + f;
    throw Error(fmt::format("could not roll back everything '{}' left:{}", dead.name(), what));
  }
}

}  // namespace modrt
