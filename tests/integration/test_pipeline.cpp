// The pipeline's order and its reverse-order rollback, proven with three fault stages that log
// every hook they receive, failing at each phase of each stage in turn (including inside the
// workload).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "modrt_test.hpp"

namespace modrt::test {
namespace {

using ::testing::HasSubstr;

struct Failure {
  int stage;  // 1..3, 0 = none
  std::string phase;
};

class PipelineTest : public HostLeakTest, public ::testing::WithParamInterface<Failure> {
 protected:
  std::string config(const Failure& f, const std::string& extra2 = "") {
    std::string yaml = "name: " + unique_name("pipe") + "\nprocess: {args: [/bin/true]}\nstages:\n";
    for (int i = 1; i <= 3; ++i) {
      yaml += "  - plugin: fault" + std::to_string(i) + "\n    with: {log: " + log_path();
      if (f.stage == i) yaml += ", fail_at: " + f.phase;
      if (i == 2 && !extra2.empty()) yaml += ", " + extra2;
      yaml += "}\n";
    }
    return dir.write("config.yaml", yaml);
  }
  std::string log_path() const { return (dir / "calls.log").string(); }
  std::vector<std::string> calls() const {
    std::ifstream in(log_path());
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
};

void PrintTo(const Failure& f, std::ostream* os) {
  *os << (f.stage == 0 ? std::string("no failure")
                       : "fault" + std::to_string(f.stage) + " at " + f.phase);
}

std::vector<std::string> expected_calls(const Failure& f) {
  const std::vector<std::string> phases{"prepare", "apply_host", "apply_workload"};
  std::vector<std::string> out;
  int started = 3;
  for (const auto& phase : phases) {
    for (int i = 1; i <= 3; ++i) {
      out.push_back("fault" + std::to_string(i) + " " + phase);
      if (f.stage == i && f.phase == phase) {
        if (phase == "prepare") started = i;
        for (int j = started; j >= 1; --j) out.push_back("fault" + std::to_string(j) + " rollback");
        return out;
      }
    }
  }
  for (int i = 1; i <= 3; ++i) out.push_back("fault" + std::to_string(i) + " on_exit 0");
  for (int j = 3; j >= 1; --j) out.push_back("fault" + std::to_string(j) + " rollback");
  return out;
}

TEST_P(PipelineTest, RunsAndRollsBackInOrder) {
  Failure f = GetParam();
  Result r = modrt.run({"run", "-c", config(f)});
  EXPECT_EQ(calls(), expected_calls(f)) << r.err;
  if (f.stage == 0) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
  } else {
    EXPECT_EQ(r.exit_code, 125) << r.err;
    std::string who = "fault" + std::to_string(f.stage);
    EXPECT_THAT(r.err, HasSubstr("modrt: error: stage '" + who + "': " + f.phase + ": " + who +
                                 " failed at " + f.phase + " on purpose"));
  }
}

INSTANTIATE_TEST_SUITE_P(
    EveryStageEveryPhase, PipelineTest,
    ::testing::Values(Failure{0, ""}, Failure{1, "prepare"}, Failure{2, "prepare"},
                      Failure{3, "prepare"}, Failure{1, "apply_host"}, Failure{2, "apply_host"},
                      Failure{3, "apply_host"}, Failure{1, "apply_workload"},
                      Failure{2, "apply_workload"}, Failure{3, "apply_workload"}),
    [](const auto& info) {
      return info.param.stage == 0
                 ? std::string("success")
                 : "fault" + std::to_string(info.param.stage) + "_" + info.param.phase;
    });

TEST_F(PipelineTest, ThrowingRollbackDoesNotStopTheOthers) {
  std::string blocker = dir.write("blocker", "");
  Result r =
      modrt.run({"run", "-c", config({3, "apply_host"}, "rollback_fails_while: " + blocker)});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_EQ(calls(), expected_calls({3, "apply_host"}));
  EXPECT_THAT(r.err, HasSubstr("rollback failed: fault2 cannot undo its token while"));
  // What could not be undone stays on record, and only that stage is retried.
  EXPECT_THAT(r.err, HasSubstr("could not be cleaned up completely; its state stays in"));
  Result gc = modrt.run({"gc"});
  EXPECT_EQ(gc.exit_code, 125) << gc.out;
  EXPECT_THAT(gc.err, HasSubstr("stage 'fault2': fault2 cannot undo its token while"));
  std::filesystem::remove(blocker);
  size_t before = calls().size();
  gc = modrt.run({"gc"});
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  std::vector<std::string> all = calls();
  std::vector<std::string> retried(all.begin() + static_cast<long>(before), all.end());
  EXPECT_EQ(retried, (std::vector<std::string>{"fault2 rollback"}));
}

TEST_F(PipelineTest, ACrashInsideTheSetupIsTheStagesFailureNotTheWorkloads) {
  Result r = modrt.run({"run", "-c", config({0, ""}, "crash_in_workload: true")});
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_THAT(r.err, HasSubstr("stage 'fault2': apply_workload: the workload's setup died before "
                               "the exec: killed by SIGABRT (Aborted)"));
  std::vector<std::string> expected{
      "fault1 prepare",    "fault2 prepare",    "fault3 prepare",        "fault1 apply_host",
      "fault2 apply_host", "fault3 apply_host", "fault1 apply_workload", "fault2 apply_workload",
      "fault3 rollback",   "fault2 rollback",   "fault1 rollback"};
  EXPECT_EQ(calls(), expected);
}

TEST_F(PipelineTest, ErrnoOfAFailureInsideTheWorkloadReachesTheUser) {
  Result r = modrt.run({"run", "-c", config({2, "apply_workload"}, "errno: 28")});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_THAT(r.err, HasSubstr("stage 'fault2': apply_workload: fault2 failed at apply_workload on "
                               "purpose: No space left on device"));
}

TEST_F(PipelineTest, TimingsShowEveryStageAndPhase) {
  Result r = modrt.run({"--timings", "run", "-c", config({0, ""})});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* line :
       {"fault1     prepare", "fault3     apply_host", "fault2     apply_workload",
        "fault1     rollback", "core       spawn", "core       start (total)"})
    EXPECT_THAT(r.err, HasSubstr(line));
}

}  // namespace
}  // namespace modrt::test
