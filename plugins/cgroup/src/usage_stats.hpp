// `modrt stats`: what a running container uses, read from the cgroups its ledger names.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "modrt/context.hpp"

namespace modrt::cgroup {

std::vector<std::pair<std::string, std::string>> read_usage(const Ledger& ledger);

}  // namespace modrt::cgroup
