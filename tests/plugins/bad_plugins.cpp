// Deliberately broken plugins for the loader's error tests, one per BAD_KIND.
#include "modrt/plugin.hpp"

namespace {
[[maybe_unused]] std::unique_ptr<modrt::Stage> create(const modrt::ConfigNode&, const modrt::Config&) {
  return std::make_unique<modrt::Stage>();
}
}  // namespace

#if BAD_KIND == 1  // built for another API version
MODRT_PLUGIN({.api_version = modrt::kPluginApiVersion + 41,
              .name = "badversion",
              .version = "1.0",
              .description = "built for a future API",
              .options = nullptr,
              .create = &create})
#elif BAD_KIND == 2  // exports nothing
extern "C" __attribute__((visibility("default"))) int not_the_entry_point() { return 1; }
#elif BAD_KIND == 3  // declares another plugin's name
MODRT_PLUGIN({.api_version = modrt::kPluginApiVersion,
              .name = "fault1",
              .version = "1.0",
              .description = "claims to be fault1",
              .options = nullptr,
              .create = &create})
#endif
