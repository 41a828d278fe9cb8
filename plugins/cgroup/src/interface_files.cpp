#include "interface_files.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace modrt::cgroup {

namespace {

std::string v2_value(uint64_t v) {
  return v == kUnlimited ? "max" : std::to_string(v);
}
std::string v1_value(uint64_t v) {
  return v == kUnlimited ? "-1" : std::to_string(v);
}

}  // namespace

// Proportional, so that the defaults meet (weight 100 = 1024 shares); shares 2..262144.
uint64_t weight_to_shares(uint64_t weight) {
  return std::clamp<uint64_t>(weight * 1024 / 100, 2, 262144);
}
// Range to range (1..10000 onto 10..1000), runc's mapping inverted.
// Range onto range (1..10000 onto 10..1000): runc's mapping, inverted.
uint64_t weight_to_blkio(uint64_t weight) {
  return 10 + ((weight - 1) * 990) / 9999;
}

std::vector<FileWrite> v2_files(const Resources& r) {
  std::vector<FileWrite> out;
  auto add = [&](const char* controller, std::string file, std::string value, std::string key) {
    out.push_back({controller, std::move(file), std::move(value), "", std::move(key)});
  };
  if (r.memory_max) add("memory", "memory.max", v2_value(*r.memory_max), "memory.max");
  if (r.memory_high) add("memory", "memory.high", v2_value(*r.memory_high), "memory.high");
  if (r.memory_swap_max)
    add("memory", "memory.swap.max", v2_value(*r.memory_swap_max), "memory.swap.max");
  if (r.cpu_max)
    add("cpu", "cpu.max", fmt::format("{} {}", v2_value(r.cpu_max->quota_us), r.cpu_max->period_us),
        "cpu.max");
  if (r.cpu_weight) add("cpu", "cpu.weight", std::to_string(*r.cpu_weight), "cpu.weight");
  if (r.cpuset_cpus) add("cpuset", "cpuset.cpus", *r.cpuset_cpus, "cpuset.cpus");
  if (r.cpuset_mems) add("cpuset", "cpuset.mems", *r.cpuset_mems, "cpuset.mems");
  if (r.pids_max) add("pids", "pids.max", v2_value(*r.pids_max), "pids.max");
  if (r.io_weight) add("io", "io.weight", fmt::format("default {}", *r.io_weight), "io.weight");
  for (const auto& io : r.io_max) {
    add("io", "io.max",
        fmt::format("{}:{} rbps={} wbps={} riops={} wiops={}", io.major, io.minor,
                    v2_value(io.rbps), v2_value(io.wbps), v2_value(io.riops), v2_value(io.wiops)),
        "io.max");
  }
  for (const auto& [size, bytes] : r.hugetlb_max) {
    std::string key = "hugetlb." + size + ".max";
    add("hugetlb", key, v2_value(bytes), key);
  }
  return out;
}

std::vector<FileWrite> v1_files(const Resources& r) {
  std::vector<FileWrite> out;
  auto add = [&](const char* controller, std::string file, std::string value, std::string key,
                 std::string alt = "") {
    out.push_back({controller, std::move(file), std::move(value), std::move(alt), std::move(key)});
  };
  if (r.memory_max) add("memory", "memory.limit_in_bytes", v1_value(*r.memory_max), "memory.max");
  // v1 has no throttling limit; the soft limit is what reclaim aims for under pressure, the
  // closest v1 meaning of memory.high.
  if (r.memory_high)
    add("memory", "memory.soft_limit_in_bytes", v1_value(*r.memory_high), "memory.high");
  // v1 limits memory+swap together: swap.max S under a memory limit M is memsw M+S.
  if (r.memory_swap_max) {
    uint64_t memsw = kUnlimited;
    if (r.memory_max && *r.memory_max != kUnlimited && *r.memory_swap_max != kUnlimited)
      memsw = *r.memory_max + *r.memory_swap_max;
    add("memory", "memory.memsw.limit_in_bytes", v1_value(memsw), "memory.swap.max");
  }
  if (r.cpu_max) {
    add("cpu", "cpu.cfs_period_us", std::to_string(r.cpu_max->period_us), "cpu.max");
    add("cpu", "cpu.cfs_quota_us", v1_value(r.cpu_max->quota_us), "cpu.max");
  }
  if (r.cpu_weight)
    add("cpu", "cpu.shares", std::to_string(weight_to_shares(*r.cpu_weight)), "cpu.weight");
  if (r.cpuset_cpus) add("cpuset", "cpuset.cpus", *r.cpuset_cpus, "cpuset.cpus");
  if (r.cpuset_mems) add("cpuset", "cpuset.mems", *r.cpuset_mems, "cpuset.mems");
  if (r.pids_max) add("pids", "pids.max", v2_value(*r.pids_max), "pids.max");
  if (r.io_weight)
    add("io", "blkio.weight", std::to_string(weight_to_blkio(*r.io_weight)), "io.weight",
        "blkio.bfq.weight");
  for (const auto& io : r.io_max) {
    // v1 takes one file per direction and unit; 0 lifts the limit.
    auto throttle = [&](const char* file, uint64_t v) {
      add("io", file, fmt::format("{}:{} {}", io.major, io.minor, v == kUnlimited ? 0 : v),
          "io.max");
    };
    throttle("blkio.throttle.read_bps_device", io.rbps);
    throttle("blkio.throttle.write_bps_device", io.wbps);
    throttle("blkio.throttle.read_iops_device", io.riops);
    throttle("blkio.throttle.write_iops_device", io.wiops);
  }
  for (const auto& [size, bytes] : r.hugetlb_max)
    add("hugetlb", "hugetlb." + size + ".limit_in_bytes", v1_value(bytes),
        "hugetlb." + size + ".max");
  return out;
}

}  // namespace modrt::cgroup
