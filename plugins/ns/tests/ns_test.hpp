// What the ns integration tests share: configs whose only stage is ns, and reading namespaces
// and processes from the host side.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "modrt_test.hpp"

namespace modrt::test::ns {

inline const std::vector<std::string> kKinds{"user", "pid", "mnt",    "uts",
                                             "ipc",  "net", "cgroup", "time"};

// A config running `/bin/sh -c script` with the ns stage configured by `with` (a YAML flow map).
// `extra` holds more top-level YAML (hostname, a process.user is given through `user`).
std::string config(const std::string& name, const std::string& script, const std::string& with,
                   const std::string& extra = "", const std::string& user = "");

// Lines "key=value" of a workload's output.
std::map<std::string, std::string> values(const std::string& out);

// readlink of a /proc/.../ns/... link, "" when it cannot be read.
std::string ns_link(const std::string& path);
// The host's (this test process's) namespace of a kind: "net:[4026531840]".
std::string host_ns(const std::string& kind);

// Processes whose pid namespace is `pid_ns` (as readlink shows it), with their /proc/PID/stat
// state letter and command name.
struct ProcInfo {
  pid_t pid;
  char state;
  std::string comm;
};
std::vector<ProcInfo> processes_in(const std::string& pid_ns);

// The direct children of a process (from /proc/PID/task/PID/children).
std::vector<pid_t> children_of(pid_t pid);

// A user namespace map of /proc/PID/{uid,gid}_map as "inside:outside:count" lines joined by ' '.
std::string map_of(const std::string& path);

}  // namespace modrt::test::ns
