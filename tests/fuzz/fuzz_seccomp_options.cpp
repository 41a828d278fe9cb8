// The seccomp stage's `with:` block (plugins/seccomp/lockdown_stage.cpp, profile.cpp,
// capabilities.cpp, rlimits.cpp): profiles and their rules, capabilities, rlimits. The input is a
// whole config, optionally followed by a NUL and a profile file: that part becomes profile.yaml in
// the config's folder, so `profile: profile.yaml` fuzzes the profile file reader too. The stage's
// options are parsed and the stage built, as the plugin's create() does.
#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "fuzz_support.hpp"
#include "lockdown_stage.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const modrt::fuzz::ScratchDir scratch("seccomp");
  const auto parts = modrt::fuzz::split_at_nul(modrt::fuzz::as_text(data, size));
  std::string_view config_text = parts.first;  // not a binding: clang 14 lambdas cannot capture one
  const std::optional<std::string_view>& profile_text = parts.second;
  std::filesystem::path profile = scratch.path() / "profile.yaml";
  std::error_code ec;
  if (profile_text)
    modrt::fuzz::write_bytes(profile, *profile_text);
  else
    std::filesystem::remove(profile, ec);
  modrt::fuzz::expect_modrt_errors([&] {
    auto config = modrt::fuzz::parse_config_or_skip(config_text, scratch.path());
    if (!config) return;
    const modrt::StageConfig* stage = config->stage("seccomp");
    if (!stage) return;
    modrt::seccomp::Options options = modrt::seccomp::parse_options(stage->with, *config);
    if (options.profile)
      for (const auto& rule : options.profile->rules) (void)rule.action.to_string();
    modrt::seccomp::LockdownStage built(std::move(options));
  });
  return 0;
}
