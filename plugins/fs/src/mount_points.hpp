// Mount points the image lacks, for a read-only root without an overlay. The root is then a bind of
// the image itself, and making a missing mount point (/tmp, /etc/hosts, a bind's destination) would
// write the image. So the host works out beforehand which paths the workload would create in the
// image, and makes them on a small "skeleton" stacked over the image as the top layer of a
// read-only overlay (crun and podman get the same effect from a tmpfs over the missing parents):
// the workload finds every mount point there, and the image is never written.
#pragma once

#include <string>
#include <vector>

#include "modrt/context.hpp"
#include "options.hpp"
#include "resolve.hpp"

namespace modrt::fs {

struct MountPoint {
  std::string path;  // absolute, inside the container, as the config or a stage wrote it
  Create kind = Create::directory;
};

// The mount points build_container_root resolves with creation, in its order: /proc, /dev, /sys,
// `mounts:` (a bind takes its source's kind), then ctx.container_files.
std::vector<MountPoint> planned_mount_points(const Context& ctx, const FsOptions& options,
                                             const std::vector<UniqueFd>& bind_sources);

// A path resolve_in_root would create in the image: its components with the image's symlinks
// already followed (so it names the same place on the host and inside), and what to create last.
struct MissingPath {
  std::vector<std::string> components;
  Create kind = Create::directory;
};

// What resolve_in_root would create in the image (image_fd: its root) for `points`, in creation
// order, each path once. A point below an earlier one is inside that mount, not in the image, and
// adds nothing. A point that cannot be resolved (a symlink out of the root, a loop, a file where a
// directory should be) adds nothing either: the workload refuses it later, with its own message.
std::vector<MissingPath> missing_in_image(int image_fd, const std::vector<MountPoint>& points);

// Makes `missing` in the empty directory skeleton_fd (the skeleton's root). Each directory on the
// way that the image has, the root included, takes the image's mode and owner, so the overlay
// shows it as the image does (with `idmapped`, the owner the idmapped image shows); what the image
// lacks belongs to the container's root, 0755 directories and 0644 empty files, as the workload
// would have made them.
void make_skeleton(const Context& ctx, int image_fd, int skeleton_fd,
                   const std::vector<MissingPath>& missing, bool idmapped);

// The directories the kernel file systems go on, in the root the workload will get (root_fd: the
// image, or the overlay over it): /proc, /sys and /dev must each be a directory or missing (then
// made). A symlink there would carry proc (or sysfs, or the container's /dev) to wherever it points
// inside the root, where a later mount may hide it, and the masked and read-only paths below it
// would find nothing to protect. So any symlink is refused, escaping or not, as is a non-directory
// (Error naming the path, the link's target and the fix; `root_name` says which root). /dev/pts,
// /dev/shm and /dev/mqueue need no check: they are made inside the container's own /dev tmpfs.
// Three fstatat calls when all is well.
void check_kernel_dirs(int root_fd, const std::string& root_name);

// "/a/b" for {a, b}; "/" for none.
std::string join_path(const std::vector<std::string>& components);

}  // namespace modrt::fs
