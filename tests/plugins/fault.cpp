// Test plugin `fault` (built as fault1, fault2, fault3 so a config can hold three of them): appends
// every hook it receives to a log file and fails on demand, so tests can prove the pipeline's order
// and its reverse-order rollback, including a failure inside the workload.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "modrt/error.hpp"
#include "modrt/plugin.hpp"

namespace {

using namespace modrt;

class FaultStage : public Stage {
 public:
  FaultStage(std::string log, std::string fail_at, int error_code, bool throw_in_rollback,
             std::string rollback_fails_while, bool crash_in_workload)
      : log_(std::move(log)),
        fail_at_(std::move(fail_at)),
        error_code_(error_code),
        throw_in_rollback_(throw_in_rollback),
        rollback_fails_while_(std::move(rollback_fails_while)),
        crash_in_workload_(crash_in_workload) {}

  void prepare(Context& ctx) override {
    note("prepare");
    ctx.ledger().record("token", FAULT_NAME);
    maybe_fail("prepare");
  }
  void apply_host(Context&) override {
    note("apply_host");
    maybe_fail("apply_host");
  }
  void apply_workload(Context&) override {
    note("apply_workload");
    // A plugin bug that kills the process outright, with no chance to report.
    if (crash_in_workload_) std::abort();
    maybe_fail("apply_workload");
  }
  void on_exit(Context& ctx) noexcept override {
    note("on_exit " + std::to_string(ctx.exit.exit_code()));
  }
  void rollback(Context& ctx) override {
    // Called from `modrt delete/gc` too, with only the ledger: the token tells that prepare ran.
    note(ctx.ledger().has("token") ? "rollback" : "rollback (empty ledger)");
    // A resource that cannot be undone yet: the token stays in the ledger, for a later gc.
    if (!rollback_fails_while_.empty() && ::access(rollback_fails_while_.c_str(), F_OK) == 0)
      throw Error(fmt::format("{} cannot undo its token while {} exists", FAULT_NAME,
                              rollback_fails_while_));
    ctx.ledger().forget("token", FAULT_NAME);
    if (throw_in_rollback_) throw Error("rollback of " FAULT_NAME " failed on purpose");
  }

 private:
  void note(const std::string& what) const {
    if (log_.empty()) return;
    // O_APPEND: the workload and modrt write to the same log without overwriting each other.
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    std::string line = std::string(FAULT_NAME) + " " + what + "\n";
    (void)!::write(fd, line.data(), line.size());
    ::close(fd);
  }
  void maybe_fail(const char* phase) const {
    if (fail_at_ != phase) return;
    if (error_code_ != 0)
      throw_system_error(error_code_, fmt::format("{} failed at {} on purpose", FAULT_NAME, phase));
    throw Error(fmt::format("{} failed at {} on purpose", FAULT_NAME, phase));
  }

  std::string log_;
  std::string fail_at_;
  int error_code_;
  bool throw_in_rollback_;
  std::string rollback_fails_while_;
  bool crash_in_workload_;
};

std::unique_ptr<Stage> create(const ConfigNode& with, const Config& config) {
  with.expect_keys({"log", "fail_at", "errno", "throw_in_rollback", "rollback_fails_while",
                    "crash_in_workload", "require"});
  std::string fail_at = with.string_or("fail_at", "none");
  if (fail_at != "none" && fail_at != "prepare" && fail_at != "apply_host" &&
      fail_at != "apply_workload")
    with.require("fail_at").fail(fmt::format(
        "'{}' is not a phase (expected none, prepare, apply_host or apply_workload)", fail_at));
  // `require: KEY` makes KEY mandatory, to test how a missing plugin key is reported.
  if (auto required = with.find("require")) with.require(required->as_string());
  std::string log = with.string_or("log", "");
  if (!log.empty()) log = config.resolve(log).string();
  std::string blocker = with.string_or("rollback_fails_while", "");
  if (!blocker.empty()) blocker = config.resolve(blocker).string();
  return std::make_unique<FaultStage>(log, fail_at, static_cast<int>(with.int_or("errno", 0)),
                                      with.bool_or("throw_in_rollback", false), blocker,
                                      with.bool_or("crash_in_workload", false));
}

const OptionDoc kOptions[] = {
    {"log", "file that every hook call is appended to"},
    {"fail_at", "none | prepare | apply_host | apply_workload"},
    {"errno", "errno carried by the failure"},
    {"throw_in_rollback", "rollback throws after logging"},
    {"rollback_fails_while", "rollback keeps its token and throws while this file exists"},
    {"crash_in_workload", "apply_workload aborts the process (SIGABRT), reporting nothing"},
    {"require", "name of a key that must then be present"},
    {nullptr, nullptr},
};

}  // namespace

MODRT_PLUGIN({.api_version = kPluginApiVersion,
              .name = FAULT_NAME,
              .version = "1.0",
              .description = "test plugin: logs each hook, fails on demand",
              .options = kOptions,
              .create = &create})
