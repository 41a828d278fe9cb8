// The ns stage's `with:` block (plugins/ns/options.cpp), read as `modrt validate` reads it: the
// input is a whole config; its ns stage is parsed once for root and once for an unprivileged user
// with /etc/subuid grants, the two callers whose checks differ most.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "options.hpp"

namespace {

using namespace modrt::ns;

Caller root() {
  Caller c;
  c.user_name = "root";
  c.can_setuid = c.can_setgid = c.can_sys_admin = true;
  c.own_uid_map = c.own_gid_map = {{0, 0, 4294967295u}};
  c.newuidmap = "/usr/bin/newuidmap";
  c.newgidmap = "/usr/bin/newgidmap";
  return c;
}

Caller user() {
  Caller c;
  c.uid = c.gid = 1234;
  c.user_name = "alice";
  c.own_uid_map = c.own_gid_map = {{0, 0, 4294967295u}};
  c.subuids = {{200000, 65536}};
  c.subgids = {{300000, 65536}};
  c.newuidmap = "/usr/bin/newuidmap";
  c.newgidmap = "/usr/bin/newgidmap";
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Caller callers[] = {root(), user()};
  modrt::fuzz::expect_modrt_errors([&] {
    auto config = modrt::fuzz::parse_config_or_skip(modrt::fuzz::as_text(data, size), "/etc/modrt");
    if (!config) return;
    const modrt::StageConfig* stage = config->stage("ns");
    if (!stage) return;
    for (const Caller& caller : callers) {
      modrt::fuzz::expect_modrt_errors([&] {
        NsOptions options = parse_options(stage->with, *config, caller);
        modrt::fuzz::expect_c_string(options.hostname, "ns hostname");
        modrt::fuzz::expect_c_string(options.domainname, "ns domainname");
        for (const auto& join : options.joins) modrt::fuzz::expect_c_string(join.path, "ns join");
      });
    }
  });
  return 0;
}
