// The cgroup stage's `with:` block as typed values: which limits, in cgroup v2 terms. Reading it
// checks everything that can be checked before touching the host (sizes, names, CPUs, devices).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "modrt/config.hpp"

namespace modrt::cgroup {

inline constexpr uint64_t kUnlimited = UINT64_MAX;  // "max"
inline constexpr uint64_t kDefaultCpuPeriodUs = 100000;

struct CpuMax {
  uint64_t quota_us = kUnlimited;
  uint64_t period_us = kDefaultCpuPeriodUs;
};

struct IoMax {
  std::string device;  // as written in the config, for messages
  uint32_t major = 0;
  uint32_t minor = 0;
  uint64_t rbps = kUnlimited, wbps = kUnlimited, riops = kUnlimited, wiops = kUnlimited;
};

struct Resources {
  std::optional<uint64_t> memory_max, memory_high, memory_swap_max;
  std::optional<CpuMax> cpu_max;
  std::optional<uint64_t> cpu_weight;  // 1..10000
  std::optional<std::string> cpuset_cpus, cpuset_mems;
  std::optional<uint64_t> pids_max;
  std::vector<IoMax> io_max;
  std::optional<uint64_t> io_weight;            // 1..10000
  std::map<std::string, uint64_t> hugetlb_max;  // page size as the kernel names it ("2MB") -> bytes

  // The controllers these limits need (v2 names: memory, cpu, cpuset, pids, io, hugetlb).
  std::set<std::string> controllers() const;
};

enum class DriverChoice { automatic, v2, v1 };

struct Options {
  DriverChoice driver = DriverChoice::automatic;
  std::string parent;      // absolute cgroup path; empty: beneath our own cgroup, in "modrt/"
  bool accounting = true;  // also join memory/pids (and cpu accounting) for stats and OOM reports
  Resources resources;
};

// What the host has, for checks at validate time. Filled from /sys by read_host_facts().
struct HostFacts {
  std::set<unsigned> cpus;                  // online CPUs
  std::set<unsigned> mems;                  // online memory nodes
  std::vector<std::string> hugepage_sizes;  // "2MB", "1GB"
};
HostFacts read_host_facts(bool cpus_and_mems, bool hugepages);

// Resource names the stage accepts, hugetlb ones for the given page sizes.
std::vector<std::string> resource_names(const std::vector<std::string>& hugepage_sizes);

// Reads and validates the `with:` block; throws ConfigError naming the key.
Options parse_options(const ConfigNode& with, const HostFacts& facts);

// "0-3,6" -> {0,1,2,3,6}; nullopt when malformed.
std::optional<std::set<unsigned>> parse_cpu_list(std::string_view text);
// 2048 (kB, as /sys/kernel/mm/hugepages names them) -> "2MB".
std::string hugepage_size_name(uint64_t kib);

}  // namespace modrt::cgroup
