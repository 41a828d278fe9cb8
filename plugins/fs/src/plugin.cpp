// The fs plugin: the container's own root file system. The host side checks and opens the
// layers (prepare) and builds the root and every host-sourced mount detached (apply_host); the
// workload attaches them inside its mount namespace, adds /proc, /dev, /sys and the configured
// mounts, pivots into the new root and locks down the paths that would leak the host.
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

#include "handoff.hpp"
#include "layers.hpp"
#include "layout.hpp"
#include "modrt/error.hpp"
#include "modrt/plugin.hpp"
#include "modrt/process.hpp"
#include "options.hpp"
#include "workload.hpp"

namespace modrt::fs {

namespace {

// In a new user namespace the workload still carries modrt's host ids, which the namespace does
// not map: everything it created would belong to "nobody" (and a tmpfs it mounted would refuse to
// create files at all, EOVERFLOW). Becoming the namespace's root makes mount points, /dev entries
// and container files belong to the container's root; switch_user() later sets process.user.
void become_namespace_root(const Context& ctx) {
  if (!(ctx.namespaces & CLONE_NEWUSER) || ctx.user_switched || ::geteuid() == 0) return;
  if (::setresgid(0, 0, 0) < 0) throw_errno("become gid 0 of the user namespace");
  if (::setresuid(0, 0, 0) < 0) throw_errno("become uid 0 of the user namespace");
  // The change of credentials cleared the parent-death signal.
  keep_parent_death_signal();
}

class FsStage final : public Stage {
 public:
  explicit FsStage(FsOptions options) : options_(std::move(options)) {}

  void prepare(Context& ctx) override {
    if (!(ctx.namespaces & CLONE_NEWNS))
      throw Error(
          "the fs stage needs a mount namespace, or its mounts would land on the host: add "
          "'mount' to the ns stage's namespaces");
    layers_ = open_layers(ctx, options_);
    // Made before the clone so the workload inherits its end: the detached mounts travel over it.
    channel_ = socket_pair(SOCK_SEQPACKET);
  }

  void apply_host(Context& ctx) override {
    channel_.second.reset();  // the workload's end; ours must not keep it open
    std::vector<UniqueFd> mounts = make_host_mounts(ctx, options_, layers_);
    send_fds(channel_.first.get(), mounts);
    // The workload holds its own references now; the host keeps none of the container's mounts.
    channel_.first.reset();
    // Except the skeleton's tmpfs (nothing else refers to it by fd): closing the last fd of a
    // detached mount waits for an RCU grace period (1-3 ms here, on the start-up path); after the
    // run, in rollback, nobody waits for it.
    UniqueFd skeleton = std::move(layers_.skeleton);
    layers_ = HostLayers{};
    layers_.skeleton = std::move(skeleton);
  }

  void apply_workload(Context& ctx) override {
    channel_.first.reset();  // modrt's end: without our copy, its death reads as end of file
    size_t expected = host_mount_layout(options_, ctx.namespaces).count();
    std::vector<UniqueFd> mounts = receive_fds(channel_.second.get(), expected);
    channel_.second.reset();
    layers_ = HostLayers{};
    become_namespace_root(ctx);
    build_container_root(ctx, options_, std::move(mounts));
  }

  void rollback(Context& ctx) override {
    channel_ = FdPair{};
    layers_ = HostLayers{};
    // The container's mounts lived only in its mount namespace and went with it; what remains on
    // the host is at most the state-dir directory of a disk upper or of the skeleton made by name.
    remove_ephemeral(ctx);  // throws naming what it could not remove
  }

 private:
  FsOptions options_;
  HostLayers layers_;
  FdPair channel_;
};

std::unique_ptr<Stage> create(const ConfigNode& with, const Config& config) {
  // `modrt delete/gc` of a dead run: only rollback will be called, and it works from the ledger.
  // The rootfs or a bind source may be gone by now; that must not keep the upper from going.
  if (config.recovering) return std::make_unique<FsStage>(FsOptions{});
  FsOptions options = parse_options(with, config);
  // Test hook (documented in the README): the by-name overlay of older kernels, on this one.
  const char* force = std::getenv("MODRT_FS_FORCE_PATH_LAYERS");
  options.act_as_old_kernel = force && std::string_view(force) == "1";
  return std::make_unique<FsStage>(std::move(options));
}

constexpr OptionDoc kOptions[] = {
    {"rootfs",
     "directory with the container's root file system (required; relative to the config)"},
    {"overlay",
     "{lower: [dirs], upper: dir, work: dir, ephemeral: memory|disk, size: 1G}: overlayfs over "
     "rootfs; default upper: a private tmpfs gone at exit"},
    {"readonly", "mount the root read-only (default false)"},
    {"idmap", "auto|true|false: idmap the image under a user namespace (default auto)"},
    {"mounts",
     "[{type: bind|tmpfs, source, destination, readonly, recursive, propagation, size, mode, "
     "nosuid, nodev, noexec}]"},
    {"masked_paths", "paths covered by an empty read-only mount (default: runc's list)"},
    {"readonly_paths", "paths remounted read-only (default: runc's list)"},
    {nullptr, nullptr}};

}  // namespace

}  // namespace modrt::fs

MODRT_PLUGIN(
    {.api_version = modrt::kPluginApiVersion,
     .name = "fs",
     .version = "1.0",
     .description = "root file system: rootfs or overlay, /proc /dev /sys, mounts, pivot_root",
     .options = modrt::fs::kOptions,
     .create = &modrt::fs::create});
