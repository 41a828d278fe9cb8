// Host side of the root file system: the layers (rootfs, overlay lowers, upper and work), the
// ephemeral upper (a private tmpfs, or under the state dir), and the detached mounts handed to the
// workload.
#pragma once

#include <filesystem>
#include <vector>

#include "modrt/context.hpp"
#include "options.hpp"

namespace modrt::fs {

// O_PATH fds opened in prepare, before the clone: every path is checked once, on the host.
struct HostLayers {
  UniqueFd rootfs;
  std::vector<UniqueFd> lower;  // overlay.lower, top first
  UniqueFd upper_store;         // the ephemeral upper's private tmpfs (memory), else unset
  UniqueFd upper;
  UniqueFd work;
  std::vector<UniqueFd> bind_sources;  // bind mounts, in config order
  // readonly without an overlay: the detached tmpfs of the skeleton layer, when there is one.
  UniqueFd skeleton;
  // The overlay's layers go to overlayfs by name (kernels before ~6.15 take no layer fds; found
  // out in make_host_mounts, where the test hook plays that refusal): rootfs and overlay.lower
  // from the options, and these for the upper and work dirs (persistent and disk uppers).
  bool by_path = false;
  std::filesystem::path upper_path;
  std::filesystem::path work_path;
};

// prepare: opens the layers and bind sources; creates the ephemeral upper+work (in a detached
// tmpfs, or under the state dir recorded in the ledger as "ephemeral") or a missing persistent
// upper/work, owned by the container's root.
HostLayers open_layers(Context& ctx, const FsOptions& options);

// apply_host: the detached mounts of host-mount-layout order (where overlayfs takes no layer
// fds: the overlay by name, its in-memory upper moved to disk, idmapped lowers dropped) — the root
// (overlay, or a bind of rootfs), host device nodes, host /sys, bind sources — ready for the
// workload to attach.
std::vector<UniqueFd> make_host_mounts(Context& ctx, const FsOptions& options, HostLayers& layers);

// rollback: removes the directories the ledger names (recorded before they were made, so one may
// never have been); forgets each one removed or absent; throws Error naming those it could not
// remove, which stay in the ledger.
void remove_ephemeral(Context& ctx);

}  // namespace modrt::fs
