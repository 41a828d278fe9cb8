// What the seccomp integration tests share: a config writer for containers made of ns + fs (the
// busybox rootfs, with the static probe bound at /probe) + seccomp, and readers for /proc output.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "modrt_test.hpp"

namespace modrt::test::seccomp {

struct Container {
  std::vector<std::string> args;    // process.args
  std::string seccomp_with = "{}";  // the seccomp stage's `with:` (YAML flow map)
  std::string user;                 // process.user (flow map), empty: root
  bool rootfs = true;               // false: no ns/fs stages; the workload runs host binaries
  std::string ns_with;              // replaces the default ns block when set
};

// The probe inside the container (/probe) or on the host (rootfs = false).
std::string probe(const Container& c);
std::string host_probe();

// Shell text as one YAML double-quoted scalar.
std::string yaml_quote(const std::string& text);

class LockdownTest : public HostLeakTest {
 protected:
  // Removes the compiled-filter cache (<root>/.seccomp), then checks the host as usual.
  void TearDown() override;
  // Writes the config (name unique to this test) and returns its path; name() is the container's.
  std::string write_config(const Container& c);
  const std::string& name() const { return name_; }
  // `modrt run -c <config>`.
  Result run(const Container& c);
  Result validate(const Container& c);
  // Shorthand: a shell script in the busybox container.
  Result sh(const std::string& script, const std::string& seccomp_with = "{}",
            const std::string& user = "");

 private:
  std::string name_;
};

// "CapEff" -> value, from `grep Cap /proc/self/status` style lines ("CapEff:\t00000000a80425fb").
std::map<std::string, uint64_t> capability_lines(const std::string& out);
// The two limits columns of a /proc/PID/limits line starting with `title`: {"1024", "4096"}.
std::pair<std::string, std::string> limit_line(const std::string& limits, const std::string& title);

}  // namespace modrt::test::seccomp
