// Compiled filters kept across runs: libseccomp needs ~1.5 ms to turn the default profile into BPF,
// a fifth of a container's start; reading the finished program back takes tens of microseconds.
//
// An entry is found by a hash of its key, a text that spells out everything the program depends on
// (the profile, libseccomp's version, the architecture, how we generate); the entry holds the key
// in full and is used only when it matches byte for byte, so a hash collision or a stale entry
// costs a compile, never a wrong filter.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "filter.hpp"
#include "profile.hpp"

namespace modrt::seccomp {

// Everything the compiled program depends on, as text.
std::string cache_key(const Profile& profile);

// The cached program for key in dir, or nullopt (missing, unreadable, another key, malformed).
std::optional<BpfProgram> read_cached(const std::filesystem::path& dir, const std::string& key);

// Stores the program (dir created 0700; written to a temporary file, then renamed into place).
// Throws Error; callers treat a failure as "not cached".
void store_cached(const std::filesystem::path& dir, const std::string& key,
                  const BpfProgram& program);

}  // namespace modrt::seccomp
