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

// Opens `path` (absolute, inside the container) relative to root_fd as an O_PATH fd. Symlinks are
// followed within the root: an absolute target restarts at root_fd, and any `..` that would climb
// above it is refused (EXDEV) naming the link that led there. Missing components are created as
// directories (the last one as `create` says) when create != none. Throws Error.
UniqueFd resolve_in_root(int root_fd, std::string_view path, Create create);

// The components of a path, without empty and "." ones ("/a//./b/" -> {a, b}).
std::vector<std::string> split_path(std::string_view path);

// True when the path, read lexically, never climbs above "/" ("/a/../b" yes, "/a/../../b" no).
bool stays_inside(std::string_view path);

}  // namespace modrt::fs
