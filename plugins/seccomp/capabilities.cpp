#include "capabilities.hpp"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "modrt/error.hpp"
#include "suggest.hpp"

namespace modrt::seccomp {

namespace {

struct CapFree {
  void operator()(void* p) const { ::cap_free(p); }
};

bool is_all(std::string_view name) {
  return name.size() == 3 && std::toupper(static_cast<unsigned char>(name[0])) == 'A' &&
         std::toupper(static_cast<unsigned char>(name[1])) == 'L' &&
         std::toupper(static_cast<unsigned char>(name[2])) == 'L';
}

int last_capability() {
  return static_cast<int>(::cap_max_bits()) - 1;
}

std::vector<cap_value_t> values_of(CapMask mask) {
  std::vector<cap_value_t> out;
  for (int cap = 0; cap < 64; ++cap)
    if (mask & bit(cap)) out.push_back(cap);
  return out;
}

// A list of names: every entry a capability, or ALL alone.
struct NameList {
  CapMask mask = 0;
  bool all = false;
};

NameList parse_names(const ConfigNode& list) {
  NameList out;
  for (const auto& item : list.items()) {
    std::string name = item.as_string();
    if (is_all(name)) {
      out.all = true;
      continue;
    }
    auto cap = capability_from_name(name);
    if (!cap) {
      // Suggest in the spelling the user chose: with or without the CAP_ prefix.
      std::string upper;
      for (char ch : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      bool prefixed = upper.rfind("CAP_", 0) == 0;
      std::vector<std::string> names;
      for (int c = 0; c <= last_capability(); ++c)
        names.push_back(prefixed ? capability_name(c) : capability_name(c).substr(4));
      item.fail(fmt::format("unknown capability '{}'{}", name, did_you_mean(upper, names)));
    }
    if (*cap > last_capability())
      item.fail(fmt::format("{} is not known to this kernel", capability_name(*cap)));
    out.mask |= bit(*cap);
  }
  return out;
}

}  // namespace

std::optional<int> capability_from_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return std::nullopt;
  std::string key;
  for (char c : name) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (key.rfind("cap_", 0) != 0) key = "cap_" + key;
  cap_value_t value = 0;
  if (::cap_from_name(key.c_str(), &value) != 0) return std::nullopt;
  return static_cast<int>(value);
}

std::string capability_name(int cap) {
  std::unique_ptr<char, CapFree> name(::cap_to_name(static_cast<cap_value_t>(cap)));
  std::string out = name ? name.get() : fmt::format("{}", cap);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string describe(CapMask mask) {
  std::string out;
  for (int cap = 0; cap < 64; ++cap) {
    if (!(mask & bit(cap))) continue;
    if (!out.empty()) out += ' ';
    out += capability_name(cap);
  }
  return out.empty() ? "none" : out;
}

CapMask all_capabilities() {
  int last = last_capability();
  return last >= 63 ? ~CapMask{0} : (bit(last + 1) - 1);
}

CapMask default_capabilities() {
  return bit(CAP_CHOWN) | bit(CAP_DAC_OVERRIDE) | bit(CAP_FSETID) | bit(CAP_FOWNER) |
         bit(CAP_MKNOD) | bit(CAP_NET_RAW) | bit(CAP_SETGID) | bit(CAP_SETUID) | bit(CAP_SETFCAP) |
         bit(CAP_SETPCAP) | bit(CAP_NET_BIND_SERVICE) | bit(CAP_SYS_CHROOT) | bit(CAP_KILL) |
         bit(CAP_AUDIT_WRITE);
}

CapabilityPlan parse_capabilities(const std::optional<ConfigNode>& node) {
  CapabilityPlan plan;
  plan.keep = default_capabilities();
  if (!node || node->is_null()) return plan;
  node->expect_keys({"add", "drop", "ambient"});
  NameList add, drop;
  if (auto n = node->find("add")) add = parse_names(*n);
  if (auto n = node->find("drop")) drop = parse_names(*n);
  if (add.all && drop.all) node->fail("add and drop both say ALL; say which one you mean");
  if (auto both = add.mask & drop.mask)
    node->require("drop").fail(fmt::format("{} is both added and dropped", describe(both)));

  if (drop.all)
    plan.keep = add.mask;  // drop everything, then add back
  else if (add.all)
    plan.keep = all_capabilities() & ~drop.mask, plan.keep_all = true;
  else
    plan.keep = (default_capabilities() | add.mask) & ~drop.mask;

  if (auto n = node->find("ambient")) {
    NameList ambient = parse_names(*n);
    if (ambient.all) ambient.mask = plan.keep;
    if (auto outside = ambient.mask & ~plan.keep)
      n->fail(
          fmt::format("{} is not kept, so it cannot be ambient (add it first)", describe(outside)));
    plan.ambient = ambient.mask;
  }
  return plan;
}

CapMask current_bounding_set(CapMask which) {
  CapMask mask = 0;
  for (int cap = 0; cap <= last_capability(); ++cap)
    if ((which & bit(cap)) && ::cap_get_bound(static_cast<cap_value_t>(cap)) == 1) mask |= bit(cap);
  return mask;
}

void drop_bounding_set(CapMask keep) {
  for (int cap = 0; cap <= last_capability(); ++cap) {
    if (keep & bit(cap)) continue;
    if (::cap_drop_bound(static_cast<cap_value_t>(cap)) != 0)
      throw_errno("drop {} from the bounding set", capability_name(cap));
  }
}

void set_capability_sets(CapMask keep, CapMask ambient) {
  std::unique_ptr<_cap_struct, CapFree> caps(::cap_init());
  if (!caps) throw_errno("cap_init");
  std::vector<cap_value_t> kept = values_of(keep), inherited = values_of(ambient);
  if (!kept.empty()) {
    if (::cap_set_flag(caps.get(), CAP_PERMITTED, static_cast<int>(kept.size()), kept.data(),
                       CAP_SET) != 0 ||
        ::cap_set_flag(caps.get(), CAP_EFFECTIVE, static_cast<int>(kept.size()), kept.data(),
                       CAP_SET) != 0)
      throw_errno("cap_set_flag");
  }
  if (!inherited.empty() &&
      ::cap_set_flag(caps.get(), CAP_INHERITABLE, static_cast<int>(inherited.size()),
                     inherited.data(), CAP_SET) != 0)
    throw_errno("cap_set_flag");
  if (::cap_set_proc(caps.get()) != 0)
    throw_errno("set capabilities (permitted/effective: {}; inheritable: {})", describe(keep),
                describe(ambient));

  // The ambient set is not part of capset(). libcap's cap_reset_ambient() asks the kernel about
  // every capability first (41 prctl calls on the startup path); clearing is one call. EINVAL: a
  // kernel without ambient capabilities, where there is nothing to clear.
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    throw_errno("clear the ambient capabilities");
  for (cap_value_t cap : inherited)
    if (::cap_set_ambient(cap, CAP_SET) != 0)
      throw_errno("raise {} in the ambient set", capability_name(cap));
}

}  // namespace modrt::seccomp
