// Which hierarchy serves which controller for one container, decided once at create(): v2 where
// the unified mount offers the controller, v1 for the rest (driver auto), or all of one kind.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "host_layout.hpp"
#include "interface_files.hpp"
#include "modrt/error.hpp"
#include "resources.hpp"

namespace modrt::cgroup {

struct Target {
  Hierarchy hierarchy;
  std::set<std::string> controllers;  // v2 names this cgroup serves (may be empty on v2)
  std::vector<FileWrite> writes;
};

struct Plan {
  std::vector<Target> targets;  // the v2 cgroup first when there is one, then v1 in mount order
  // Controller -> "v2" / "v1", for the log line naming the driver of each controller.
  std::vector<std::pair<std::string, Version>> drivers;
};

// A controller the limits need is offered by no hierarchy the driver may use; key names the
// config key that needs it, so the caller can point at it.
class PlacementError : public Error {
 public:
  PlacementError(std::string message, std::string key)
      : Error(std::move(message)), key_(std::move(key)) {}
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

// The v1 name of a v2 controller (io -> blkio).
std::string v1_name(const std::string& controller);

// Throws PlacementError (a plain message; the caller adds the config location).
Plan plan_placement(const HostLayout& layout, const Options& options);

}  // namespace modrt::cgroup
