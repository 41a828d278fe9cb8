// The state reader (core/src/state.cpp): a run's state.json and its journal, as `modrt gc`,
// `delete`, `list` and `stats` read them back after a crash. The input is state.json, then a NUL,
// then the journal (no NUL: no journal file). Both are written by modrt itself, but a SIGKILL can
// tear them anywhere and anyone who can write to the state root can edit them, and one bad dir
// must not stop gc from collecting the others (issue 11, item 5).
//
// Each input is read twice: by replay_state alone, and the way gc reaches it, as the state dir
// "run1" of a state root on a tmpfs (StateDir::adopt checks the marker and the owner, then load
// replays the journal; state_is_live reads the owner too). After each, the fields are read the way
// the recovery code reads them (pipeline.cpp's recover, main.cpp's list and stats): a state whose
// fields have other JSON types would throw nlohmann::json::type_error there, outside any handler.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "state.hpp"

namespace {

namespace stdfs = std::filesystem;

void read_as_recovery_does(const nlohmann::json& state) {
  (void)state.value("modrt_pid", 0);
  (void)state.value("modrt_start_time", 0ull);
  (void)state.value("workload_pid", -1);
  (void)state.value("workload_start_time", 0ull);
  (void)state.value("config_text", "");
  (void)state.value("config_file", "");
  (void)state.value("config_dir", "/");
  (void)state.value("name", "");
  for (const auto& entry : state.value("stages", nlohmann::json::array())) {
    (void)entry.value("started", false);
    (void)entry.value("plugin", "");
    (void)entry.value("path", "");
    for (const auto& item : entry.value("ledger", nlohmann::json::array()))
      (void)(item.at(0).get<std::string>() + item.at(1).get<std::string>());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const modrt::fuzz::ScratchDir scratch("state");
  static const stdfs::path run = scratch.path() / "run1";
  static const modrt::ContainerName name = modrt::ContainerName::parse("run1", "fuzz");

  // Not a structured binding: clang 14 does not let lambdas capture those.
  const auto parts = modrt::fuzz::split_at_nul(modrt::fuzz::as_text(data, size));
  std::string_view state_json = parts.first;
  const std::optional<std::string_view>& journal = parts.second;

  modrt::fuzz::expect_modrt_errors(
      [&] { read_as_recovery_does(modrt::replay_state(state_json, journal.value_or(""))); });

  stdfs::create_directories(run);
  modrt::fuzz::write_bytes(run / "state.json", state_json);
  std::error_code ec;
  if (journal)
    modrt::fuzz::write_bytes(run / "journal", *journal);
  else
    stdfs::remove(run / "journal", ec);
  modrt::fuzz::expect_modrt_errors([&] {
    modrt::StateRoot root = modrt::StateRoot::open(scratch.path(), false);
    (void)modrt::state_is_live(root, "run1");
    modrt::StateDir dir = modrt::StateDir::adopt(root, name);
    read_as_recovery_does(dir.load());
    dir.keep();
  });
  return 0;
}
