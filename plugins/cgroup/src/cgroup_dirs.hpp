// Creating a container's cgroup in one hierarchy: the directory chain beneath our own cgroup (or
// the configured parent), controllers enabled on the way down through directories modrt made,
// limits written, each directory recorded in the ledger before it is made (see cgroup_dirs.cpp).
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "host_layout.hpp"
#include "modrt/context.hpp"
#include "modrt/fd.hpp"
#include "placement.hpp"

namespace modrt::cgroup {

// Ledger kinds. Values are "<v1|v2> <path>". Each is recorded before the mkdir it stands for.
// A container's own cgroup (leaf), named by unique_leaf_name(): it exists only if this run made it.
inline constexpr const char* kLedgerCgroup = "cgroup";
// A directory above the leaf that was missing when this run went to make it.
inline constexpr const char* kLedgerParent = "parent";
// The default "modrt" dir, found made by an earlier run: removed by whoever leaves it empty.
inline constexpr const char* kLedgerShared = "shared";

// "<name>-<12 random hex digits>": the leaf's name for one run. No other run, of this state root or
// another, picks the same name (48 random bits from getrandom), so a leaf that exists at rollback
// is this run's own.
std::string unique_leaf_name(const std::string& container_name);

std::string ledger_value(Version v, const std::filesystem::path& path);
// Splits "v2 /sys/fs/cgroup/..."; false when malformed.
bool parse_ledger_value(const std::string& value, Version& v, std::filesystem::path& path);

struct LiveCgroup {
  Version version = Version::v1;
  std::filesystem::path path;
  UniqueFd dir;
  std::set<std::string> controllers;  // v2 names served here
};

// Creates the leaf `leaf_name` for one target (every directory recorded in ctx.ledger() before
// its mkdir) and writes its limits.
LiveCgroup create_cgroup(Context& ctx, const Target& target, const std::string& parent_option,
                         const std::string& leaf_name);

// Writes limits into an open cgroup directory, naming the config key on failure.
void write_limits(const LiveCgroup& cgroup, const std::vector<FileWrite>& writes);

}  // namespace modrt::cgroup
