#include <fcntl.h>
#include <sys/stat.h>

#include "modrt/error.hpp"
#include "mount_api.hpp"
#include "resolve.hpp"
#include "workload.hpp"

namespace modrt::fs {

namespace {

// The path's fd, or nothing when it does not exist here (kernels differ in what /proc offers).
UniqueFd find(int root_fd, const std::string& path) {
  try {
    return resolve_in_root(root_fd, path, Create::none);
  } catch (const Error& e) {
    if (e.error_code() == ENOENT) return {};
    throw;
  }
}

}  // namespace

void protect_paths(const FsOptions& options, int root_fd) {
  for (const auto& path : options.readonly_paths) {
    with_context(fmt::format("make '{}' read-only", path), [&] {
      UniqueFd target = find(root_fd, path);
      if (!target) return;
      UniqueFd copy = clone_tree(target.get(), "", true);
      set_attrs(copy.get(), "", true, {.set = MOUNT_ATTR_RDONLY});
      attach(copy.get(), target.get(), "");
    });
  }
  // One read-only empty tmpfs covers every masked directory: attached over the first, cloned from
  // there over the others (before ~6.15 a mount that is still detached cannot be cloned).
  UniqueFd empty_dir;
  for (const auto& path : options.masked_paths) {
    with_context(fmt::format("mask '{}'", path), [&] {
      UniqueFd target = find(root_fd, path);
      if (!target) return;
      struct stat st {};
      if (::fstat(target.get(), &st) < 0) throw_errno("stat");
      UniqueFd cover;
      if (S_ISDIR(st.st_mode)) {
        if (!empty_dir) {
          empty_dir = FsContext("tmpfs").mount(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
                                               MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
          attach(empty_dir.get(), target.get(), "");
          return;
        }
        cover = clone_tree(empty_dir.get(), "", false);
      } else {
        // Reads return nothing and writes vanish: the container's own /dev/null.
        cover = clone_tree(root_fd, "dev/null", false);
      }
      attach(cover.get(), target.get(), "");
    });
  }
}

}  // namespace modrt::fs
