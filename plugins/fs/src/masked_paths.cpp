#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <algorithm>
#include <string>
#include <vector>

#include "modrt/error.hpp"
#include "mount_api.hpp"
#include "resolve.hpp"
#include "workload.hpp"

namespace modrt::fs {

namespace {

// The kernel's own file systems that /proc and /sys (the fresh instances, or the host's /sys
// bound recursively with its submounts) may show. A path missing on one of them is missing
// because this kernel has no such thing (/proc/acpi without ACPI, /proc/timer_stats since 4.11).
bool kernel_file_system(const struct statfs& st) {
  switch (st.f_type) {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case SECURITYFS_MAGIC:
    case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC:
    case BPF_FS_MAGIC:
    case PSTOREFS_MAGIC:
    case EFIVARFS_MAGIC:
    case BINFMTFS_MAGIC:
      return true;
    default:
      return false;
  }
}

std::string file_system_name(const struct statfs& st) {
  switch (st.f_type) {
    case TMPFS_MAGIC:
      return "a tmpfs";
    case OVERLAYFS_SUPER_MAGIC:
      return "an overlay";
    case RAMFS_MAGIC:
      return "a ramfs";
    default:
      return fmt::format("a file system of type {:#x}", static_cast<unsigned long>(st.f_type));
  }
}

// `path` resolved to nothing. Fine for a path of the image (the image lacks it), and under /proc
// or /sys where the kernel lacks it. Refused where /proc or /sys is not what the stage mounted
// there (a `mounts:` entry covering them, or anything that redirected them): skipping would leave
// the path unprotected without a word. Costs an openat2 and an fstatfs per missing path, and only
// then, once per ancestor (`verified` remembers those found to be the kernel's: mounts are only
// ever added on top of them here, by the masks themselves). `masks`: the st_dev of the masked
// directories' empty tmpfs (0 before the first), below which nothing exists anyway.
void check_truly_missing(int root_fd, const std::string& path, dev_t masks,
                         std::vector<std::string>& verified) {
  std::vector<std::string> parts = split_path(path);
  if (parts.empty() || (parts.front() != "proc" && parts.front() != "sys")) return;
  // The nearest ancestor that exists ("/proc" itself always does: mount_proc made it).
  UniqueFd ancestor;
  std::string shown;
  for (size_t n = parts.size() - 1; n > 0 && !ancestor; --n) {
    shown.clear();
    for (size_t i = 0; i < n; ++i) shown += "/" + parts[i];
    if (std::find(verified.begin(), verified.end(), shown) != verified.end()) return;
    try {
      ancestor = resolve_in_root(root_fd, shown, Create::none);
    } catch (const Error& e) {
      if (e.error_code() != ENOENT || n == 1) throw;
    }
  }
  if (!ancestor) return;  // a path of one component ("/proc"): not missing, never here
  struct statfs fs {};
  if (::fstatfs(ancestor.get(), &fs) < 0) throw_errno("statfs '{}'", shown);
  if (kernel_file_system(fs)) {
    verified.push_back(shown);
    return;
  }
  struct stat st {};
  if (::fstat(ancestor.get(), &st) < 0) throw_errno("stat '{}'", shown);
  if (masks != 0 && st.st_dev == masks) return;
  throw Error(fmt::format("'{}' does not exist, and '{}' on the way is not the kernel's but {} (a "
                          "`mounts:` entry covering it?): a path to protect is skipped only "
                          "where the kernel lacks it; drop the path from the list or the mount "
                          "that hides it",
                          path, shown, file_system_name(fs)),
              ENOENT);
}

// The path's fd, or nothing when it does not exist here (kernels differ in what /proc offers).
UniqueFd find(int root_fd, const std::string& path, dev_t masks,
              std::vector<std::string>& verified) {
  try {
    return resolve_in_root(root_fd, path, Create::none);
  } catch (const Error& e) {
    if (e.error_code() != ENOENT) throw;
  }
  check_truly_missing(root_fd, path, masks, verified);
  return {};
}

}  // namespace

void protect_paths(const FsOptions& options, int root_fd) {
  std::vector<std::string> verified;  // ancestors of missing paths found on the kernel's fs
  for (const auto& path : options.readonly_paths) {
    with_context(fmt::format("make '{}' read-only", path), [&] {
      UniqueFd target = find(root_fd, path, 0, verified);
      if (!target) return;
      UniqueFd copy = clone_tree(target.get(), "", true);
      set_attrs(copy.get(), "", true, {.set = MOUNT_ATTR_RDONLY});
      attach(copy.get(), target.get(), "");
    });
  }
  // One read-only empty tmpfs covers every masked directory: attached over the first, cloned from
  // there over the others (before ~6.15 a mount that is still detached cannot be cloned).
  UniqueFd empty_dir;
  dev_t masks = 0;
  for (const auto& path : options.masked_paths) {
    with_context(fmt::format("mask '{}'", path), [&] {
      UniqueFd target = find(root_fd, path, masks, verified);
      if (!target) return;
      struct stat st {};
      if (::fstat(target.get(), &st) < 0) throw_errno("stat");
      UniqueFd cover;
      if (S_ISDIR(st.st_mode)) {
        if (!empty_dir) {
          empty_dir = FsContext("tmpfs").mount(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
                                               MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
          struct stat empty {};
          if (::fstat(empty_dir.get(), &empty) < 0) throw_errno("stat the masks' tmpfs");
          masks = empty.st_dev;
          attach(empty_dir.get(), target.get(), "");
          return;
        }
        cover = clone_tree(empty_dir.get(), "", false);
      } else {
        // Reads return nothing and writes vanish: the container's own /dev/null (a real
        // directory of the image, checked on the host, holding the stage's /dev tmpfs).
        cover = with_context("clone the container's /dev/null as the cover",
                             [&] { return clone_tree(root_fd, "dev/null", false); });
      }
      attach(cover.get(), target.get(), "");
    });
  }
}

}  // namespace modrt::fs
