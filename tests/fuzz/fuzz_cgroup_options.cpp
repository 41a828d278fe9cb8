// The cgroup stage's `with:` block (plugins/cgroup/src/resources.cpp): the input is a whole config
// and its cgroup stage is read against fixed host facts (two CPUs, one memory node, 2MB and 1GB
// huge pages), so the result does not depend on the machine the fuzzer runs on.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "resources.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const modrt::cgroup::HostFacts facts = [] {
    modrt::cgroup::HostFacts f;
    f.cpus = {0, 1};
    f.mems = {0};
    f.hugepage_sizes = {"2MB", "1GB"};
    return f;
  }();
  modrt::fuzz::expect_modrt_errors([&] {
    auto config = modrt::fuzz::parse_config_or_skip(modrt::fuzz::as_text(data, size), "/etc/modrt");
    if (!config) return;
    const modrt::StageConfig* stage = config->stage("cgroup");
    if (!stage) return;
    modrt::cgroup::Options options = modrt::cgroup::parse_options(stage->with, facts);
    (void)options.resources.controllers();
    modrt::fuzz::expect_c_string(options.parent, "cgroup parent");
  });
  return 0;
}
