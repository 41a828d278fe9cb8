#include "resources.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <charconv>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "host_layout.hpp"
#include "modrt/error.hpp"
#include "modrt/fd.hpp"
#include "modrt/units.hpp"

namespace modrt::cgroup {

namespace {

const std::vector<std::string> kFixedNames = {
    "memory.max",  "memory.high", "memory.swap.max", "cpu.max", "cpu.weight",
    "cpuset.cpus", "cpuset.mems", "pids.max",        "io.max",  "io.weight"};
const std::vector<std::string> kStageKeys = {"driver", "parent", "accounting"};

bool is_max(const ConfigNode& node) {
  return node.is_scalar() && node.yaml().Scalar() == "max";
}

// A size or "max".
uint64_t size_or_max(const ConfigNode& node) {
  if (is_max(node)) return kUnlimited;
  if (!node.is_scalar()) node.fail("expected a size like 64M, or max");
  auto size = parse_size(node.yaml().Scalar());
  if (!size)
    node.fail(fmt::format("'{}' is not a size: expected a size like 64M or 1.5G, or max",
                          node.yaml().Scalar()));
  return *size;
}

uint64_t uint_or_max(const ConfigNode& node, uint64_t min, uint64_t max) {
  if (is_max(node)) return kUnlimited;
  int64_t v = node.as_int(static_cast<int64_t>(min), static_cast<int64_t>(max));
  return static_cast<uint64_t>(v);
}

std::optional<uint64_t> plain_uint(std::string_view text) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

// "50%", "1.5" (CPUs), "max", or the kernel's own "QUOTA PERIOD" in microseconds.
CpuMax parse_cpu_max(const ConfigNode& node) {
  if (!node.is_scalar())
    node.fail("expected a CPU share like 50% or 1.5, \"QUOTA PERIOD\" in µs, or max");
  std::string text = node.yaml().Scalar();
  CpuMax out;
  if (text == "max") return out;
  auto words = split(text, ' ');
  if (words.size() == 2) {
    auto period = plain_uint(words[1]);
    if (!period || *period < 1000 || *period > 1000000)
      node.fail(fmt::format("cpu.max period '{}' must be 1000..1000000 µs", words[1]));
    out.period_us = *period;
    if (words[0] == "max") return out;
    auto quota = plain_uint(words[0]);
    if (!quota || *quota < 1000)
      node.fail(fmt::format("cpu.max quota '{}' must be at least 1000 µs", words[0]));
    out.quota_us = *quota;
    return out;
  }
  auto cpus = parse_cpus(text);
  if (!cpus || *cpus <= 0)
    node.fail(fmt::format(
        "'{}' is not a CPU share: expected 50% (of one CPU), 1.5 (CPUs), \"QUOTA PERIOD\" or max",
        text));
  double quota = std::round(*cpus * static_cast<double>(out.period_us));
  if (quota < 1000)
    node.fail(fmt::format("'{}' is below the kernel's minimum of 1% of a CPU", text));
  out.quota_us = static_cast<uint64_t>(quota);
  return out;
}

std::string format_set(const std::set<unsigned>& s) {
  std::string out;
  for (unsigned v : s) out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

std::string cpu_list(const ConfigNode& node, const std::set<unsigned>& host, const char* what) {
  if (!node.is_scalar()) node.fail(fmt::format("expected a {} list like 0-1,3", what));
  std::string text = node.yaml().Scalar();
  auto set = parse_cpu_list(text);
  if (!set || set->empty())
    node.fail(fmt::format("'{}' is not a {} list: expected e.g. 0-1,3", text, what));
  for (unsigned v : *set) {
    if (!host.count(v))
      node.fail(
          fmt::format("{} {} is not online on this host (online: {})", what, v, format_set(host)));
  }
  return text;
}

IoMax parse_io_max_entry(const ConfigNode& node) {
  node.expect_keys({"device", "rbps", "wbps", "riops", "wiops"});
  IoMax out;
  ConfigNode device = node.require("device");
  out.device = device.as_string();
  struct stat st {};
  if (::stat(out.device.c_str(), &st) != 0)
    device.fail(fmt::format("stat '{}': {}", out.device, std::strerror(errno)));
  if (!S_ISBLK(st.st_mode)) device.fail(fmt::format("'{}' is not a block device", out.device));
  out.major = major(st.st_rdev);
  out.minor = minor(st.st_rdev);
  if (auto v = node.find("rbps")) out.rbps = size_or_max(*v);
  if (auto v = node.find("wbps")) out.wbps = size_or_max(*v);
  if (auto v = node.find("riops")) out.riops = uint_or_max(*v, 1, INT64_MAX);
  if (auto v = node.find("wiops")) out.wiops = uint_or_max(*v, 1, INT64_MAX);
  return out;
}

}  // namespace

std::optional<std::set<unsigned>> parse_cpu_list(std::string_view text) {
  std::set<unsigned> out;
  for (auto part : split(text, ',')) {
    auto dash = part.find('-');
    auto lo = plain_uint(part.substr(0, dash));
    auto hi = dash == std::string_view::npos ? lo : plain_uint(part.substr(dash + 1));
    if (!lo || !hi || *lo > *hi || *hi > 65535) return std::nullopt;
    for (uint64_t v = *lo; v <= *hi; ++v) out.insert(static_cast<unsigned>(v));
  }
  return out;
}

std::string hugepage_size_name(uint64_t kib) {
  if (kib >= 1024 * 1024) return fmt::format("{}GB", kib / (1024 * 1024));
  if (kib >= 1024) return fmt::format("{}MB", kib / 1024);
  return fmt::format("{}KB", kib);
}

std::set<std::string> Resources::controllers() const {
  std::set<std::string> out;
  if (memory_max || memory_high || memory_swap_max) out.insert("memory");
  if (cpu_max || cpu_weight) out.insert("cpu");
  if (cpuset_cpus || cpuset_mems) out.insert("cpuset");
  if (pids_max) out.insert("pids");
  if (!io_max.empty() || io_weight) out.insert("io");
  if (!hugetlb_max.empty()) out.insert("hugetlb");
  return out;
}

HostFacts read_host_facts(bool cpus_and_mems, bool hugepages) {
  HostFacts facts;
  if (cpus_and_mems) {
    auto read_list = [](const char* path, std::set<unsigned> fallback) {
      std::error_code ec;
      if (!std::filesystem::exists(path, ec)) return fallback;
      std::string text = read_file(path);
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.pop_back();
      auto set = parse_cpu_list(text);
      return set ? *set : fallback;
    };
    facts.cpus = read_list("/sys/devices/system/cpu/online", {0});
    // Without NUMA there is no node directory, and node 0 is all of memory.
    facts.mems = read_list("/sys/devices/system/node/online", {0});
  }
  if (hugepages) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/sys/kernel/mm/hugepages", ec)) {
      std::string name = entry.path().filename().string();  // hugepages-2048kB
      if (name.rfind("hugepages-", 0) != 0) continue;
      auto kib = plain_uint(std::string_view(name).substr(10, name.size() - 10 - 2));
      if (kib) facts.hugepage_sizes.push_back(hugepage_size_name(*kib));
    }
  }
  return facts;
}

std::vector<std::string> resource_names(const std::vector<std::string>& hugepage_sizes) {
  std::vector<std::string> out = kFixedNames;
  for (const auto& size : hugepage_sizes) out.push_back("hugetlb." + size + ".max");
  return out;
}

Options parse_options(const ConfigNode& with, const HostFacts& facts) {
  Options opts;
  if (with.is_null()) return opts;
  std::vector<std::string> allowed = kStageKeys;
  for (const auto& name : resource_names(facts.hugepage_sizes)) allowed.push_back(name);
  with.expect_keys(allowed);

  for (const auto& [key, node] : with.entries()) {
    Resources& r = opts.resources;
    if (key == "driver") {
      std::string d = node.as_string();
      if (d == "auto")
        opts.driver = DriverChoice::automatic;
      else if (d == "v2")
        opts.driver = DriverChoice::v2;
      else if (d == "v1")
        opts.driver = DriverChoice::v1;
      else
        node.fail(fmt::format("unknown driver '{}': expected auto, v2 or v1", d));
    } else if (key == "parent") {
      opts.parent = node.as_string();
      if (opts.parent.empty() || opts.parent[0] != '/')
        node.fail(
            "expected an absolute cgroup path like /modrt-jobs (leave it out to nest beneath "
            "modrt's own cgroup)");
      for (auto part : split(opts.parent, '/')) {
        if (part == "." || part == "..") node.fail("'.' and '..' are not allowed in a cgroup path");
      }
    } else if (key == "accounting") {
      opts.accounting = node.as_bool();
    } else if (key == "memory.max") {
      r.memory_max = size_or_max(node);
    } else if (key == "memory.high") {
      r.memory_high = size_or_max(node);
    } else if (key == "memory.swap.max") {
      r.memory_swap_max = size_or_max(node);
    } else if (key == "cpu.max") {
      r.cpu_max = parse_cpu_max(node);
    } else if (key == "cpu.weight") {
      r.cpu_weight = static_cast<uint64_t>(node.as_int(1, 10000));
    } else if (key == "cpuset.cpus") {
      r.cpuset_cpus = cpu_list(node, facts.cpus, "CPU");
    } else if (key == "cpuset.mems") {
      r.cpuset_mems = cpu_list(node, facts.mems, "memory node");
    } else if (key == "pids.max") {
      r.pids_max = uint_or_max(node, 1, INT32_MAX);
    } else if (key == "io.max") {
      for (const auto& item : node.items()) r.io_max.push_back(parse_io_max_entry(item));
    } else if (key == "io.weight") {
      r.io_weight = static_cast<uint64_t>(node.as_int(1, 10000));
    } else if (key.rfind("hugetlb.", 0) == 0) {
      std::string size = key.substr(8, key.size() - 8 - 4);
      r.hugetlb_max[size] = size_or_max(node);
    }
  }
  return opts;
}

}  // namespace modrt::cgroup
