// The net stage's `with:` block (plugins/net/src/options.cpp): subnets, addresses, MACs, ports,
// DNS. The input is a whole config; its net stage is parsed as the plugin's create() does.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "options.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  modrt::fuzz::expect_modrt_errors([&] {
    auto config = modrt::fuzz::parse_config_or_skip(modrt::fuzz::as_text(data, size), "/etc/modrt");
    if (!config) return;
    const modrt::StageConfig* stage = config->stage("net");
    if (!stage) return;
    modrt::net::NetOptions options = modrt::net::parse_options(stage->with, *config);
    for (const auto& port : options.ports) (void)port.str();
    using modrt::fuzz::expect_c_string;
    expect_c_string(options.join, "net join");
    expect_c_string(options.bridge, "net bridge");
    expect_c_string(options.interface, "net interface");
    for (const auto& list : {options.dns.nameservers, options.dns.search, options.dns.options})
      for (const auto& entry : list) expect_c_string(entry, "net dns");
  });
  return 0;
}
