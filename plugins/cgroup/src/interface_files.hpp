// Limits as the kernel's interface files spell them: the same Resources become different files
// and units under cgroup v2 (memory.max) and v1 (memory.limit_in_bytes).
#pragma once

#include <string>
#include <vector>

#include "resources.hpp"

namespace modrt::cgroup {

struct FileWrite {
  std::string controller;  // v2 name of the controller the file belongs to
  std::string file;
  std::string value;
  std::string alt_file;  // written instead when `file` does not exist (v1 blkio.weight vs bfq)
  std::string key;       // the config key this comes from, for error messages
};

// In the order they must be written (v1 memsw after the memory limit).
std::vector<FileWrite> v2_files(const Resources& r);
std::vector<FileWrite> v1_files(const Resources& r);

// cgroup v2 weight (1..10000) to v1 cpu.shares (2..262144) and blkio.weight (10..1000).
uint64_t weight_to_shares(uint64_t weight);
uint64_t weight_to_blkio(uint64_t weight);

}  // namespace modrt::cgroup
