// Resolving a container path under the new root without ever leaving it. Mount destinations come
// from the config and the rootfs (an image anyone may have built), so a symlink such as
// /etc -> /../../host must not turn "mount on /etc/x" into a mount on the host.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "modrt/fd.hpp"

namespace modrt::fs {

enum class Create { none, directory, file };

// Where a path led, for callers that care whether the image's symlinks moved it.
struct Reached {
  std::string path;  // with every symlink followed and `..` applied ("/run/resolv.conf")
  std::string via;   // the last symlink followed ("'/etc/resolv.conf' -> '../run/resolv.conf'"),
                     // empty when none was
};

// Opens `path` (absolute, inside the container) relative to root_fd as an O_PATH fd. Symlinks are
// followed within the root: an absolute target restarts at root_fd, and any `..` that would climb
// above it is refused (EXDEV) naming the link that led there. Missing components are created as
// directories (the last one as `create` says) when create != none. With `reached`, says where the
// path led (its one-syscall fast path then takes no symlinks: a path with one is walked, so the
// link is known). Throws Error.
UniqueFd resolve_in_root(int root_fd, std::string_view path, Create create,
                         Reached* reached = nullptr);

// The first component of a path, when it is one of the trees the kernel or the fs stage itself
// fills inside the container: "proc", "sys" or "dev"; else empty.
std::string_view kernel_tree(std::string_view path);

// Throws Error (ELOOP) when the image's symlinks led `path` (a mount destination, a container
// file) into /proc, /sys or /dev while the path itself names another tree: a mount there would
// cover what the kernel or the stage put there (an /etc/resolv.conf -> /dev/null would turn the
// container's /dev/null, the cover of every masked file, into the resolver's config).
void refuse_redirect_into_kernel_trees(std::string_view path, const Reached& reached);

// The components of a path, without empty and "." ones ("/a//./b/" -> {a, b}).
std::vector<std::string> split_path(std::string_view path);

// True when the path, read lexically, never climbs above "/" ("/a/../b" yes, "/a/../../b" no).
bool stays_inside(std::string_view path);

}  // namespace modrt::fs
