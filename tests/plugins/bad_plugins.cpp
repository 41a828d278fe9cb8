// Deliberately broken plugins for the loader's error tests, one per BAD_KIND.
#include "modrt/plugin.hpp"

namespace {
[[maybe_unused]] std::unique_ptr<modrt::Stage> create(const modrt::ConfigNode&,
                                                      const modrt::Config&) {
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
extern "C" __attribute__((visibility("default"))) int not_the_entry_point() {
  return 1;
}
#elif BAD_KIND == 3  // declares another plugin's name
MODRT_PLUGIN({.api_version = modrt::kPluginApiVersion,
              .name = "fault1",
              .version = "1.0",
              .description = "claims to be fault1",
              .options = nullptr,
              .create = &create})
#elif BAD_KIND == 4  // calls a function no library provides (think: built against a newer libmodrt)
// Declared but defined nowhere: the link of a plugin (a shared object) leaves it undefined, and
// only the dynamic loader can notice. It is called where a lazily bound plugin would fail last:
// inside the workload, after the clone.
extern "C" void modrt_symbol_that_does_not_exist();

namespace {

class UnresolvedStage : public modrt::Stage {
 public:
  void apply_workload(modrt::Context&) override { modrt_symbol_that_does_not_exist(); }
};

std::unique_ptr<modrt::Stage> create_unresolved(const modrt::ConfigNode&, const modrt::Config&) {
  return std::make_unique<UnresolvedStage>();
}

}  // namespace

MODRT_PLUGIN({.api_version = modrt::kPluginApiVersion,
              .name = "unresolved",
              .version = "1.0",
              .description = "calls a symbol that nothing defines",
              .options = nullptr,
              .create = &create_unresolved})
#elif BAD_KIND == \
    5  // the same with a C++ function, as a newer libmodrt's would be: named demangled
namespace modrt {
void function_of_a_newer_core(int);
}  // namespace modrt

namespace {

class UnresolvedCxxStage : public modrt::Stage {
 public:
  void prepare(modrt::Context&) override { modrt::function_of_a_newer_core(2); }
};

std::unique_ptr<modrt::Stage> create_unresolved_cxx(const modrt::ConfigNode&,
                                                    const modrt::Config&) {
  return std::make_unique<UnresolvedCxxStage>();
}

}  // namespace

MODRT_PLUGIN({.api_version = modrt::kPluginApiVersion,
              .name = "unresolvedcxx",
              .version = "1.0",
              .description = "calls a C++ function that nothing defines",
              .options = nullptr,
              .create = &create_unresolved_cxx})
#endif
