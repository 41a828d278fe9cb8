// The pipeline: one config's stages, run through prepare → spawn → apply_host → apply_workload →
// exec → supervise → on_exit → rollback, with reverse-order rollback of exactly the stages that had
// started, whatever failed where.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loader.hpp"
#include "modrt/config.hpp"
#include "modrt/context.hpp"
#include "modrt/error.hpp"

namespace modrt {

class StateDir;

struct RunOptions {
  std::filesystem::path state_root;
  bool timings = false;  // print the stage × phase table to stderr after the run
};

struct Timing {
  std::string stage;  // "core" for the core's own steps
  std::string phase;
  std::chrono::nanoseconds duration{0};
};

// A setup failure, after the full rollback; carries the exit code modrt ends with (125/126/127).
class RunError : public Error {
 public:
  RunError(std::string message, int error_code, int exit_code)
      : Error(std::move(message), error_code), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

class Pipeline {
 public:
  // Loads every stage's plugin and creates its stage, which validates its `with:` block.
  // Throws ConfigError (exit 2) for anything wrong with the config or its plugins.
  Pipeline(const Config& config, PluginLoader& loader);
  ~Pipeline();

  // Runs the workload to its end; returns the exit code modrt should end with. Throws RunError
  // after rolling back when setup failed.
  int run(const RunOptions& options);

  const std::vector<Timing>& timings() const { return timings_; }
  static std::string format_timings(const std::vector<Timing>& timings);

  struct Slot;

 private:
  nlohmann::json state_json() const;
  // Appends events to the run's state journal (nothing before the state dir exists).
  void journal(const std::vector<nlohmann::json>& events);
  // Makes every record and forget of each stage's ledger reach the journal as it happens.
  void journal_ledgers();
  // Rolls back the started stages in reverse; returns the failures, one line per stage.
  std::vector<std::string> rollback_started(Context& ctx) noexcept;
  // After the run, whatever happened: rolls back, then removes the state dir, or keeps it (and
  // says so) when something could not be undone.
  void finish(Context& ctx, StateDir& state) noexcept;

  const Config& config_;
  PluginLoader& loader_;
  std::vector<Slot> slots_;
  std::vector<Timing> timings_;
  StateDir* state_ = nullptr;
};

// `modrt delete`/`gc` and a rerun of a dead run's name: kills what is left of the dead run's
// workload (identity-checked) and rolls back every stage its journal lists as started, journaling
// each stage that rolled back. Throws Error naming each stage that could not: its state stays.
void recover_dead_run(StateDir& dead, PluginLoader& loader);

}  // namespace modrt
