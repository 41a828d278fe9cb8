// Inside the workload: the steps that turn the mounts handed over by modrt into the container's
// root. Each runs in the workload's mount namespace, as its root, before the user switch.
#pragma once

#include <vector>

#include "modrt/context.hpp"
#include "options.hpp"

namespace modrt::fs {

// The whole sequence, in order (see workload.cpp); host_mounts as make_host_mounts built them.
void build_container_root(Context& ctx, const FsOptions& options,
                          std::vector<UniqueFd> host_mounts);

// dev.cpp: with `terminal: true`, a detached bind of the terminal on stdin (the pty the core made
// on the host), else an empty fd. Must run while the host's /dev/pts is still reachable by path,
// i.e. before the container's root is stacked on "/".
UniqueFd clone_console(const Context& ctx);

// dev.cpp: /dev as a tmpfs with the standard nodes, symlinks, /dev/pts, /dev/shm, /dev/mqueue,
// and /dev/console when `console` (from clone_console) is set.
// host_devices: bind mounts of the host's nodes (under a user namespace), else empty.
void mount_dev(Context& ctx, int root_fd, std::vector<UniqueFd> host_devices, UniqueFd console);

// kernel_fs.cpp: the directory `name` ("proc", "sys", "dev") right below the root, made when
// missing, never reached through a symlink: the host refused those in apply_host
// (check_kernel_dirs), and one swapped in since fails here instead of being followed.
UniqueFd kernel_mount_point(int root_fd, const char* name);

// kernel_fs.cpp: a fresh /proc; /sys (fresh, or host_sys when valid); cgroup2 with a cgroup ns.
void mount_proc(Context& ctx, int root_fd);
void mount_sys(Context& ctx, int root_fd, UniqueFd host_sys);

// user_mounts.cpp: the `mounts:` list; host_binds are the bind sources in config order.
void mount_user_mounts(const FsOptions& options, int root_fd, std::vector<UniqueFd> host_binds);

// container_files.cpp: ctx.container_files, each a bind of a file on a private tmpfs.
// options.act_as_old_kernel plays a kernel before ~6.15 (see the function).
void place_container_files(Context& ctx, const FsOptions& options, int root_fd);

// pivot_root.cpp: makes root_fd the process's "/" and detaches the old root.
void enter_root(Context& ctx, int root_fd);

// masked_paths.cpp: after enter_root. Read-only paths, then masked paths; missing ones skipped.
void protect_paths(const FsOptions& options, int root_fd);

}  // namespace modrt::fs
