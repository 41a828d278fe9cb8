// Existing namespaces the workload joins instead of getting new ones, by path: /proc/PID/ns/net
// or a bind-mounted namespace file.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "modrt/context.hpp"
#include "modrt/fd.hpp"
#include "namespace_kind.hpp"

namespace modrt::ns {

struct NamespaceFile {
  UniqueFd fd;
  // Only for user namespaces: the uid that created it (the kernel grants its creator's uid
  // every capability inside it, which is what lets an unprivileged caller join it).
  uint32_t owner_uid = 0;
};

// Opens path and checks that it is a namespace of the given kind. Throws an Error that says what
// the file is instead ("is a pid namespace, not a net namespace", "is not a namespace file").
NamespaceFile open_namespace_file(const std::string& path, const NamespaceKind& kind);

// setns(fd, kind) with an error naming the kind and path.
void join_namespace(int fd, const NamespaceKind& kind, const std::string& path);

}  // namespace modrt::ns

namespace modrt::ns {

// The uid and gid maps of the user namespace behind fd, as its members see them (host ids of
// its parent namespace). Reads them in a short-lived forked child that joins it; the caller must
// be single-threaded (prepare is).
std::pair<std::vector<IdMapping>, std::vector<IdMapping>> read_user_namespace_maps(
    int fd, const std::string& path);

}  // namespace modrt::ns
