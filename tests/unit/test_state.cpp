// The journal reader: what a dead run's state dir says it still holds, whatever a crash left.
#include <gtest/gtest.h>

#include "modrt/error.hpp"
#include "state.hpp"

namespace modrt {
namespace {

const char* kRecord = R"({"kind": "modrt-state", "name": "web", "stages": [{"plugin": "a"},
                          {"plugin": "b"}]})";

TEST(Journal, ReplaysRecordsForgetsAndRollbacks) {
  auto state = replay_state(kRecord,
                            "{\"stage\":0,\"started\":true}\n"
                            "{\"stage\":0,\"record\":[\"dir\",\"/a\"]}\n"
                            "{\"stage\":0,\"record\":[\"dir\",\"/b\"]}\n"
                            "{\"stage\":1,\"started\":true}\n"
                            "{\"stage\":1,\"record\":[\"veth\",\"v0\"]}\n"
                            "{\"workload_pid\":42,\"workload_start_time\":777}\n"
                            "{\"stage\":0,\"forget\":[\"dir\",\"/a\"]}\n"
                            "{\"stage\":1,\"started\":false}\n");
  EXPECT_EQ(state["workload_pid"], 42);
  EXPECT_EQ(state["workload_start_time"], 777);
  EXPECT_TRUE(state["stages"][0]["started"]);
  EXPECT_EQ(state["stages"][0]["ledger"], nlohmann::json::parse(R"([["dir", "/b"]])"));
  EXPECT_FALSE(state["stages"][1]["started"]);
}

TEST(Journal, ATornOrForeignLineIsSkipped) {
  auto state = replay_state(kRecord,
                            "{\"stage\":0,\"started\":true}\n"
                            "not json\n"
                            "{\"stage\":7,\"record\":[\"x\",\"y\"]}\n"
                            "{\"stage\":-1,\"record\":[\"x\",\"y\"]}\n"
                            "{\"stage\":0,\"record\":[\"x\"]}\n"
                            "{\"stage\":0,\"record\":[1,2]}\n"
                            "{\"workload_pid\":\"42\"}\n"
                            "{\"stage\":0,\"record\":[\"dir\",\"/torn");
  EXPECT_TRUE(state["stages"][0]["started"]);
  EXPECT_TRUE(state["stages"][0]["ledger"].empty());
  EXPECT_EQ(state["workload_pid"], -1);
}

TEST(Journal, AStateFileThatIsNotAnObjectIsAnError) {
  EXPECT_THROW(replay_state("[1, 2", ""), Error);
  EXPECT_THROW(replay_state("", ""), Error);
  auto state = replay_state(R"({"name": "web"})", "{\"stage\":0,\"started\":true}\n");
  EXPECT_TRUE(state["stages"].empty());
}

TEST(Journal, FieldsOfTheWrongTypeAreRefusedNotConverted) {
  // Found by the fuzz target: each used to escape as a json::type_error, or an out-of-range
  // float-to-int conversion (UB), when gc read the field.
  for (const char* bad :
       {R"({"kind": "modrt-state", "modrt_pid": 1e300})", R"({"kind": 7, "name": "run1"})",
        R"({"name": ["run1"]})", R"({"modrt_pid": "42"})", R"({"modrt_pid": -1})",
        R"({"modrt_start_time": -5})", R"({"stages": [{"plugin": 1}]})", R"({"stages": [3]})",
        R"({"stages": {"plugin": "a"}})"})
    EXPECT_THROW(replay_state(bad, ""), Error) << bad;
  auto state = replay_state(kRecord,
                            "{\"workload_pid\": 1e300}\n{\"workload_pid\": -3}\n"
                            "{\"workload_pid\": 99999999999}\n");
  EXPECT_EQ(state["workload_pid"], -1);
}

}  // namespace
}  // namespace modrt
