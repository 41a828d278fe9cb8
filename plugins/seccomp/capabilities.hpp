// The capability sets the workload keeps. libcap does the work: it knows every capability name, the
// number of capabilities this kernel has (cap_max_bits), and how each set is read and written
// (capset for effective/permitted/inheritable, prctl for the bounding and ambient sets).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "modrt/config.hpp"

namespace modrt::seccomp {

// Bit n set = capability n (CAP_CHOWN = 0 ...). Linux has 41 today; 64 bits leave room.
using CapMask = uint64_t;

constexpr CapMask bit(int cap) {
  return CapMask{1} << cap;
}

// "NET_ADMIN", "CAP_NET_ADMIN", any case. nullopt for unknown names (and for numbers).
std::optional<int> capability_from_name(std::string_view name);
// "CAP_NET_ADMIN"
std::string capability_name(int cap);
// "CAP_CHOWN CAP_KILL", or "none".
std::string describe(CapMask mask);

// Every capability the running kernel has.
CapMask all_capabilities();
// The fourteen the container engines keep by default: CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD,
// NET_RAW, SETGID, SETUID, SETFCAP, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, KILL, AUDIT_WRITE.
CapMask default_capabilities();

struct CapabilityPlan {
  // The bounding, permitted and effective sets (the capabilities a root workload has).
  CapMask keep = 0;
  // Also in the inheritable and ambient sets, so they survive the exec of a non-root workload.
  CapMask ambient = 0;
  // `add: [ALL]`: keep whatever the bounding set modrt runs with allows, instead of failing on
  // capabilities it does not hold.
  bool keep_all = false;
};

// Reads `capabilities: {add: [...], drop: [...], ambient: [...]}` (node may be null: defaults).
// drop: [ALL] starts from nothing; add: [ALL] from everything; otherwise from the default set.
CapabilityPlan parse_capabilities(const std::optional<ConfigNode>& node);

// --- inside the workload
// --------------------------------------------------------------------------

// The capabilities of `which` that are in the calling thread's bounding set (one prctl each).
CapMask current_bounding_set(CapMask which = ~CapMask{0});
// Removes every capability outside `keep` from the bounding set (needs CAP_SETPCAP effective).
void drop_bounding_set(CapMask keep);
// permitted = effective = keep, inheritable = ambient = `ambient` (a subset of keep).
void set_capability_sets(CapMask keep, CapMask ambient);

}  // namespace modrt::seccomp
