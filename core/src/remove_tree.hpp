// Removal that cannot leave the directory it was given: every step is relative to an fd of the
// parent, no symlink is followed, and no mount is entered. The state root is the only tree modrt
// removes recursively, and a name in it comes from a user.
#pragma once

#include <string>
#include <vector>

namespace modrt {

// Removes `name` (one path component, no '/') inside the directory open at parent_fd, with all it
// holds. A symlink is removed as a link, never followed; a directory that is a mount point (its own
// or anything below it) is left in place and named in the returned list, and so are entries that
// could not be removed. An empty list means `name` is gone.
std::vector<std::string> remove_tree_at(int parent_fd, const std::string& name);

// Names in the directory open at dir_fd, without "." and "..".
std::vector<std::string> list_names(int dir_fd);

// Whether two fds are on the same mount (a bind mount of the same file system is another one).
bool same_mount(int fd_a, int fd_b);

}  // namespace modrt
