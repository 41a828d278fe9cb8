// The plugin entry point. A plugin is one shared object that exports exactly one symbol,
// `modrt_plugin`, returning a PluginInfo. The loader reads api_version first and refuses the plugin
// when it differs from the core's, before calling anything else in it.
//
//   MODRT_PLUGIN({.api_version = modrt::kPluginApiVersion, .name = "ns", .version = "1.0",
//                 .description = "...", .options = kOptions, .create = &create});
#pragma once

#include <cstdint>
#include <memory>

#include "modrt/config.hpp"
#include "modrt/stage.hpp"

namespace modrt {

// Bump on any change of PluginInfo, Stage, Executor, Context or ConfigNode that breaks plugins.
inline constexpr uint32_t kPluginApiVersion = 1;

// One key a plugin accepts in its `with:` block, for `modrt plugins`.
struct OptionDoc {
  const char* key;
  const char* description;
};

// A fingerprint of the layout of the types a plugin shares with the core, computed where the
// plugin is compiled. It catches a plugin built against other headers of the same API version
// (a changed struct, not yet a new version number) before it can crash a run.
struct PluginInfo;
constexpr uint32_t abi_fingerprint();

struct PluginInfo {
  uint32_t api_version;              // stays the first member in every API version
  uint32_t abi = abi_fingerprint();  // stays the second; filled in by default
  const char* name;
  const char* version;
  const char* description;
  const OptionDoc* options;  // terminated by {nullptr, nullptr}
  // Reads and validates the stage's `with:` block (throws ConfigError naming the key) and returns
  // a stage for one run. `config` is the whole config, for checks across stages.
  std::unique_ptr<Stage> (*create)(const ConfigNode& with, const Config& config);
};

constexpr uint32_t abi_fingerprint() {
  uint32_t h = 2166136261u;
  for (size_t v :
       {sizeof(PluginInfo), sizeof(Context), alignof(Context), sizeof(Config), sizeof(Process),
        sizeof(User), sizeof(StageConfig), sizeof(ConfigNode), sizeof(Ledger), sizeof(ExitStatus),
        sizeof(IdMapping), sizeof(ContainerFile), sizeof(OptionDoc), sizeof(UniqueFd)})
    h = (h ^ static_cast<uint32_t>(v)) * 16777619u;
  return h;
}

}  // namespace modrt

#define MODRT_PLUGIN_SYMBOL "modrt_plugin"

// Exports the entry point; everything else in a plugin stays hidden (-fvisibility=hidden).
#define MODRT_PLUGIN(...)                                                                       \
  extern "C" __attribute__((visibility("default"))) const ::modrt::PluginInfo* modrt_plugin() { \
    static const ::modrt::PluginInfo info = __VA_ARGS__;                                        \
    return &info;                                                                               \
  }
