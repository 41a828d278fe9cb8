// Creating a container's cgroup in one hierarchy: the directory chain beneath our own cgroup (or
// the configured parent), controllers enabled on the way down through directories modrt made,
// limits written, each directory recorded in the ledger the moment it exists.
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

// Ledger kinds. Values are "<v1|v2> <path>".
inline constexpr const char* kLedgerCgroup = "cgroup";  // a container's own cgroup (leaf)
inline constexpr const char* kLedgerParent = "parent";  // a directory above it this run created
inline constexpr const char* kLedgerShared =
    "shared";  // the default "modrt" dir, made by an earlier run

std::string ledger_value(Version v, const std::filesystem::path& path);
// Splits "v2 /sys/fs/cgroup/..."; false when malformed.
bool parse_ledger_value(const std::string& value, Version& v, std::filesystem::path& path);

struct LiveCgroup {
  Version version = Version::v1;
  std::filesystem::path path;
  UniqueFd dir;
  std::set<std::string> controllers;  // v2 names served here
};

// Creates `name` for one target (all directories recorded in ctx.ledger()) and writes its limits.
LiveCgroup create_cgroup(Context& ctx, const Target& target, const std::string& parent_option,
                         const std::string& name);

// Writes limits into an open cgroup directory, naming the config key on failure.
void write_limits(const LiveCgroup& cgroup, const std::vector<FileWrite>& writes);

}  // namespace modrt::cgroup
