// The ns stage's `with:` block, read and checked once at create() time so that `modrt validate`
// reports every mistake (with file:line:col and key path) before anything is done.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caller.hpp"
#include "map_writer.hpp"
#include "modrt/config.hpp"
#include "namespace_kind.hpp"
#include "time_namespace.hpp"

namespace modrt::ns {

struct JoinTarget {
  NamespaceKind kind;
  std::string path;
};

struct NsOptions {
  uint64_t created = 0;  // CLONE_NEW* of every namespace the workload gets new, time included
  std::vector<JoinTarget> joins;  // in all_kinds() order: user first
  MapPlan maps;                   // meaningful when a user namespace is created
  std::string hostname;
  std::string domainname;
  TimeOffsets time_offsets;
  bool init = false;

  bool creates(uint64_t flag) const { return (created & flag) != 0; }
  const JoinTarget* joined(uint64_t flag) const;
};

NsOptions parse_options(const ConfigNode& with, const Config& config, const Caller& caller);

}  // namespace modrt::ns
