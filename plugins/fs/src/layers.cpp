#include "layers.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>

#include "layout.hpp"
#include "modrt/error.hpp"
#include "modrt/process.hpp"
#include "mount_api.hpp"
#include "mount_points.hpp"
#include "overlay_paths.hpp"

namespace modrt::fs {

namespace stdfs = std::filesystem;

namespace {

UniqueFd open_dir(const stdfs::path& p, const char* key) {
  return with_context(fmt::format("{} '{}'", key, p.string()),
                      [&] { return open_fd(p.c_str(), O_PATH | O_DIRECTORY); });
}

// A directory the container's root must be able to write: owned by its host uid/gid.
void make_owned_dir(const Context& ctx, const stdfs::path& p, unsigned mode) {
  if (::mkdir(p.c_str(), mode) < 0) throw_errno("create '{}'", p.string());
  if (::chown(p.c_str(), ctx.root_host_uid(), ctx.root_host_gid()) < 0)
    throw_errno("chown '{}' to {}:{}", p.string(), ctx.root_host_uid(), ctx.root_host_gid());
}

UniqueFd make_owned_dir_at(const Context& ctx, int dir_fd, const char* name, unsigned mode) {
  if (::mkdirat(dir_fd, name, mode) < 0) throw_errno("create '{}'", name);
  if (::fchownat(dir_fd, name, ctx.root_host_uid(), ctx.root_host_gid(), AT_SYMLINK_NOFOLLOW) < 0)
    throw_errno("chown '{}' to {}:{}", name, ctx.root_host_uid(), ctx.root_host_gid());
  return open_fd_at(dir_fd, name, O_PATH | O_DIRECTORY);
}

// A persistent upper or work dir: used as it is when it exists, created (for the container's
// root) when not. Never removed by modrt.
UniqueFd persistent_dir(const Context& ctx, const stdfs::path& p, const char* key) {
  return with_context(fmt::format("{} '{}'", key, p.string()), [&] {
    std::error_code ec;
    if (!stdfs::exists(p, ec)) {
      stdfs::create_directories(p.parent_path(), ec);
      if (ec) throw Error(fmt::format("create '{}': {}", p.parent_path().string(), ec.message()));
      make_owned_dir(ctx, p, 0755);
    }
    return open_fd(p.c_str(), O_PATH | O_DIRECTORY);
  });
}

bool host_uid_mapped(const std::vector<IdMapping>& map, uint32_t host_uid) {
  for (const auto& m : map)
    if (host_uid >= m.host && host_uid - m.host < m.size) return true;
  return false;
}

// Under a user namespace the image's files keep their host owners, which the namespace usually
// does not map (a busybox tree owned by host root, container 0 = host 100000): they would show as
// nobody, and the container's root could not create anything in the image's directories, nor
// could overlayfs copy a file up (it cannot chown the copy to an unmapped owner). An idmapped
// view of each lower layer shows host uid N as container uid N instead.
bool want_idmap(const Context& ctx, const FsOptions& options, int rootfs_fd) {
  if (!(ctx.namespaces & CLONE_NEWUSER) || options.idmap == Idmap::off) return false;
  if (options.idmap == Idmap::on) return true;
  struct stat st {};
  if (::fstat(rootfs_fd, &st) < 0) throw_errno("stat rootfs '{}'", options.rootfs.string());
  // An image already shifted into the container's range needs no idmapping.
  return !host_uid_mapped(ctx.uid_map, st.st_uid);
}

// Why mount_setattr(MOUNT_ATTR_IDMAP) was refused, in the terms of the kernel versions that lift
// each limit; "" when the errno says nothing specific.
std::string idmap_refusal_hint(int code) {
  switch (code) {
    case ENOSYS:
      return "; idmapped mounts need Linux 5.12";
    case EINVAL:
      return "; this kernel cannot idmap the file system holding it (idmapped mounts came in "
             "5.12 for ext4, xfs, btrfs..., in 6.3 for tmpfs, and never for an overlay or a mount "
             "already idmapped)";
    case EPERM:
      return "; idmapping needs CAP_SYS_ADMIN over the file system's user namespace";
    default:
      return "";
  }
}

// The ephemeral upper and work dirs on disk, under the state dir (recorded for rollback).
void make_disk_upper(Context& ctx, HostLayers& layers) {
  stdfs::path dir = ctx.state_dir() / "fs";
  // Recorded first: a crash between mkdir and the record would leak the directory.
  ctx.ledger().record("ephemeral", dir.string());
  with_context("create the ephemeral overlay layers", [&] {
    if (::mkdir(dir.c_str(), 0700) < 0) throw_errno("create '{}'", dir.string());
    make_owned_dir(ctx, dir / "upper", 0755);
    make_owned_dir(ctx, dir / "work", 0700);
  });
  layers.upper = open_fd((dir / "upper").c_str(), O_PATH | O_DIRECTORY);
  layers.work = open_fd((dir / "work").c_str(), O_PATH | O_DIRECTORY);
  layers.upper_path = dir / "upper";
  layers.work_path = dir / "work";
}

// Layers by name cannot be idmapped: a detached idmapped view of a lower layer has no name in the
// host's mount table. `why` says why the layers go by name.
void drop_idmap_for_names(Context& ctx, const FsOptions& options, bool& idmap, const char* why) {
  if (!idmap) return;
  if (options.idmap == Idmap::on)
    throw Error(fmt::format("idmap: true: {}, and idmapped lower layers need fds", why));
  ctx.log().warn(
      "idmap off: {}, and idmapped lower layers need fds. The image's files keep their host "
      "owners: host ids outside the user namespace's map show as nobody (65534), and the "
      "container's root cannot write where only that owner could (EACCES); world-writable "
      "places still work. Shift the image's owners into the container's range, or set "
      "idmap: false to silence this",
      why);
  idmap = false;
}

constexpr const char* kByNameOnly =
    "this kernel's overlayfs takes its layers by name only (layers by file descriptor came "
    "with Linux 6.15)";

// The overlay with its layers given by name, for kernels whose overlayfs takes no layer fds
// (before about 6.15; 6.1 even passes the options on as one legacy string). The host resolves
// the paths. What cannot go by name degrades here, with a warning, or fails when asked for.
UniqueFd overlay_by_name(Context& ctx, const FsOptions& options, HostLayers& layers, bool& idmap) {
  const char* why = kByNameOnly;
  if (layers.upper_store) {
    // The in-memory upper is a detached tmpfs: it has no name, and overlayfs before ~6.15
    // refuses it anyway (only mounts of the mounter's namespace qualify as layers).
    if (options.overlay->size)
      throw Error(fmt::format(
          "overlay.size needs the in-memory upper, which {}; remove overlay.size to put the "
          "ephemeral upper on disk under the state dir",
          why));
    ctx.log().warn(
        "{}: the ephemeral upper goes on disk under '{}' instead of in memory, "
        "removed at exit",
        why, (ctx.state_dir() / "fs").string());
    layers.upper = UniqueFd();
    layers.work = UniqueFd();
    layers.upper_store = UniqueFd();
    make_disk_upper(ctx, layers);
  }
  drop_idmap_for_names(ctx, options, idmap, why);
  return with_context("mount the overlay root (layers by name)", [&] {
    FsContext overlay("overlay");
    std::vector<stdfs::path> lower = options.overlay->lower;
    lower.push_back(options.rootfs);
    overlay.set("lowerdir", overlay_lowerdir_option(lower));
    overlay.set("upperdir", overlay_path_option(layers.upper_path, "overlay upper layer"));
    overlay.set("workdir", overlay_path_option(layers.work_path, "overlay work dir"));
    if (!options.overlay->upper) overlay.flag("volatile");  // thrown away at exit anyway
    return overlay.mount();
  });
}

// `readonly: true` without an overlay: the root is the image itself, which nothing may write, not
// even the mount points the workload needs (see mount_points.hpp). When the image has them all,
// a bind of it, read-only from the start rather than only at the end of the workload's setup. Else
// a read-only overlay of a skeleton holding the missing ones over the image.
UniqueFd readonly_root(Context& ctx, const FsOptions& options, HostLayers& layers, bool& idmap,
                       const std::function<UniqueFd(int, bool)>& layer_view) {
  std::vector<MissingPath> missing = missing_in_image(
      layers.rootfs.get(), planned_mount_points(ctx, options, layers.bind_sources));
  if (missing.empty()) {
    UniqueFd root = layer_view(layers.rootfs.get(), true);
    set_attrs(root.get(), "", false, {.set = MOUNT_ATTR_RDONLY});
    return root;
  }
  std::string names;
  for (const auto& m : missing) names += (names.empty() ? "" : ", ") + join_path(m.components);
  ctx.log().info(
      "readonly without an overlay: the image has no {}; made on a private skeleton layer over "
      "it, the image is not written (its own submounts are not part of the root then)",
      names);
  int image = layers.rootfs.get();
  if (!options.act_as_old_kernel) {  // the test hook plays an old kernel's refusal
    UniqueFd view;
    if (idmap) {
      view = layer_view(image, false);
      image = view.get();
    }
    // Detached, like the in-memory upper: it lives exactly as long as the overlay does.
    layers.skeleton = FsContext("tmpfs").set("size", "64k").mount();
    make_skeleton(ctx, layers.rootfs.get(), layers.skeleton.get(), missing, idmap);
    FsContext overlay("overlay");
    if (overlay.try_set_fd("lowerdir+", layers.skeleton.get())) {
      overlay.set_fd("lowerdir+", image);
      // Only lower layers: overlayfs itself refuses every write.
      return overlay.mount(MOUNT_ATTR_RDONLY);
    }
    ctx.log().info(
        "this kernel's overlayfs takes no layers by file descriptor (EINVAL for lowerdir+); "
        "passing them by name");
    layers.skeleton = UniqueFd();
  }
  // By name: the skeleton goes under the state dir (recorded before it is made, removed by
  // rollback like a disk upper).
  drop_idmap_for_names(ctx, options, idmap, kByNameOnly);
  stdfs::path dir = ctx.state_dir() / "fs";
  ctx.ledger().record("ephemeral", dir.string());
  if (::mkdir(dir.c_str(), 0700) < 0) throw_errno("create '{}'", dir.string());
  stdfs::path skeleton = dir / "skeleton";
  if (::mkdir(skeleton.c_str(), 0755) < 0) throw_errno("create '{}'", skeleton.string());
  make_skeleton(ctx, layers.rootfs.get(), open_fd(skeleton.c_str(), O_PATH | O_DIRECTORY).get(),
                missing, false);
  FsContext overlay("overlay");
  overlay.set("lowerdir", overlay_lowerdir_option({skeleton, options.rootfs}));
  return overlay.mount(MOUNT_ATTR_RDONLY);
}

}  // namespace

HostLayers open_layers(Context& ctx, const FsOptions& options) {
  HostLayers layers;
  layers.rootfs = open_dir(options.rootfs, "rootfs");
  if (options.overlay) {
    for (const auto& p : options.overlay->lower)
      layers.lower.push_back(open_dir(p, "overlay.lower"));
    if (options.overlay->upper) {
      layers.upper = persistent_dir(ctx, *options.overlay->upper, "overlay.upper");
      layers.work = persistent_dir(ctx, *options.overlay->work, "overlay.work");
      layers.upper_path = *options.overlay->upper;
      layers.work_path = *options.overlay->work;
    } else if (options.overlay->ephemeral == Ephemeral::memory) {
      with_context("create the ephemeral overlay layers in memory", [&] {
        // Detached: the tmpfs never appears in any mount table of the host, and it is freed when
        // the last reference goes (the overlay, when the workload's mount namespace dies; or
        // these fds, if the run ends before) - even if modrt itself is killed.
        FsContext tmpfs("tmpfs");
        tmpfs.set("mode", "0700");
        if (options.overlay->size) tmpfs.set("size", std::to_string(*options.overlay->size));
        layers.upper_store = tmpfs.mount();
        layers.upper = make_owned_dir_at(ctx, layers.upper_store.get(), "upper", 0755);
        layers.work = make_owned_dir_at(ctx, layers.upper_store.get(), "work", 0700);
      });
    } else {
      make_disk_upper(ctx, layers);
    }
  }
  for (const auto& m : options.mounts) {
    if (m.type != MountSpec::Type::bind) continue;
    layers.bind_sources.push_back(with_context(fmt::format("bind source '{}'", m.source.string()),
                                               [&] { return open_fd(m.source.c_str(), O_PATH); }));
  }
  return layers;
}

std::vector<UniqueFd> make_host_mounts(Context& ctx, const FsOptions& options, HostLayers& layers) {
  HostMountLayout layout = host_mount_layout(options, ctx.namespaces);
  std::vector<UniqueFd> out;
  out.reserve(layout.count());

  // Before any root is made: without an overlay the image is the root, so it is checked as it
  // is (the read-only skeleton would otherwise be planned through a symlinked /proc).
  if (!options.overlay)
    check_kernel_dirs(layers.rootfs.get(), fmt::format("rootfs '{}'", options.rootfs.string()));

  bool idmap = want_idmap(ctx, options, layers.rootfs.get());
  UniqueFd userns;
  if (idmap) userns = open_namespace(ctx.pid, "user");
  // The view of one lower layer the overlay (or the bind) is made from.
  auto layer_view = [&](int fd, bool recursive) -> UniqueFd {
    UniqueFd view = clone_tree(fd, "", recursive && !idmap);
    if (!idmap) return view;
    try {
      set_attrs(view.get(), "", false, {.set = MOUNT_ATTR_IDMAP, .userns_fd = userns.get()});
    } catch (const Error& e) {
      if (options.idmap == Idmap::on)
        throw Error(fmt::format("idmap the rootfs for the user namespace: {}{}", e.what(),
                                idmap_refusal_hint(e.error_code())),
                    e.error_code());
      ctx.log().warn(
          "idmap off: cannot idmap the rootfs for the user namespace ({}{}); its files keep their "
          "host owners: ids outside the namespace's map show as nobody (65534) inside, and the "
          "container's root cannot write where only they could (EACCES)",
          e.what(), idmap_refusal_hint(e.error_code()));
      idmap = false;
    }
    return view;
  };

  if (options.overlay && !layers.by_path) {
    UniqueFd root = with_context("mount the overlay root", [&] {
      FsContext overlay("overlay");
      std::vector<UniqueFd> views;  // alive until the superblock holds its own references
      bool first = true;
      // false: the kernel refused the first layer fd, so it takes none (see overlay_by_name).
      auto add_lower = [&](int fd) -> bool {
        if (idmap) {
          views.push_back(layer_view(fd, false));
          fd = views.back().get();
        }  // else overlayfs makes its own private clone of the layer
        if (!first) {
          overlay.set_fd("lowerdir+", fd);
          return true;
        }
        first = false;
        // The test hook plays an old kernel's refusal, so the whole fallback below is tested.
        return !options.act_as_old_kernel && overlay.try_set_fd("lowerdir+", fd);
      };
      for (const auto& l : layers.lower)
        if (!add_lower(l.get())) return UniqueFd();
      if (!add_lower(layers.rootfs.get())) return UniqueFd();
      overlay.set_fd("upperdir", layers.upper.get());
      overlay.set_fd("workdir", layers.work.get());
      // An ephemeral upper on disk is thrown away at exit, so overlayfs need not sync it: without
      // "volatile" the last unmount (when the workload's mount namespace dies, on its exit path)
      // syncs the host file system under the upper.
      if (!options.overlay->upper && options.overlay->ephemeral == Ephemeral::disk)
        overlay.flag("volatile");
      return overlay.mount();
    });
    if (!root) {
      ctx.log().info(
          "this kernel's overlayfs takes no layers by file descriptor (EINVAL for "
          "lowerdir+); passing them by name");
      layers.by_path = true;
    } else {
      out.push_back(std::move(root));
    }
  }
  if (options.overlay && layers.by_path) {
    out.push_back(overlay_by_name(ctx, options, layers, idmap));
  } else if (!options.overlay && options.readonly) {
    out.push_back(with_context("make the read-only root", [&] {
      return readonly_root(ctx, options, layers, idmap, layer_view);
    }));
  } else if (!options.overlay) {
    // A writable rootfs is the user's own directory: mount points the image lacks are made in it
    // (as runc and crun do), and stay there after the run.
    out.push_back(
        with_context("bind the rootfs", [&] { return layer_view(layers.rootfs.get(), true); }));
  }
  // With an overlay the merged view counts: an upper or an overlay.lower may bring the entry. The
  // overlay is still detached, nothing has been mounted anywhere.
  if (options.overlay)
    check_kernel_dirs(out.front().get(),
                      fmt::format("the overlay over rootfs '{}'", options.rootfs.string()));

  if (layout.bind_devices) {
    for (const auto& dev : kDevices) {
      std::string path = fmt::format("/dev/{}", dev.name);
      out.push_back(with_context(fmt::format("bind the host's {}", path),
                                 [&] { return clone_tree(AT_FDCWD, path.c_str(), false); }));
    }
  }
  if (layout.bind_sys) {
    out.push_back(with_context("bind the host's /sys read-only", [&] {
      UniqueFd sys = clone_tree(AT_FDCWD, "/sys", true);
      set_attrs(
          sys.get(), "", true,
          {.set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC});
      return sys;
    }));
  }
  size_t i = 0;
  for (const auto& m : options.mounts) {
    if (m.type != MountSpec::Type::bind) continue;
    int source = layers.bind_sources[i++].get();
    out.push_back(
        with_context(fmt::format("bind '{}' for '{}'", m.source.string(), m.destination), [&] {
          // idmapped mounts cannot cover submounts of file systems that refuse idmapping, so an
          // idmapped bind takes the source mount alone.
          const bool map_ids = m.idmap && (ctx.namespaces & CLONE_NEWUSER);
          UniqueFd tree = clone_tree(source, "", m.recursive && !map_ids);
          if (map_ids) {
            if (!userns) userns = open_namespace(ctx.pid, "user");
            try {
              set_attrs(tree.get(), "", false,
                        {.set = MOUNT_ATTR_IDMAP, .userns_fd = userns.get()});
            } catch (const Error& e) {
              throw Error(
                  fmt::format("idmap: true: {}{}", e.what(), idmap_refusal_hint(e.error_code())),
                  e.error_code());
            }
          }
          uint64_t attrs = (m.readonly ? MOUNT_ATTR_RDONLY : 0) |
                           (m.nosuid ? MOUNT_ATTR_NOSUID : 0) | (m.nodev ? MOUNT_ATTR_NODEV : 0) |
                           (m.noexec ? MOUNT_ATTR_NOEXEC : 0);
          if (attrs) set_attrs(tree.get(), "", m.recursive && !map_ids, {.set = attrs});
          return tree;
        }));
  }
  return out;
}

void remove_ephemeral(Context& ctx) {
  std::vector<std::string> left;
  for (const auto& value : ctx.ledger().values("ephemeral")) {
    stdfs::path dir(value);
    // Only ever below this run's state dir: a damaged ledger must not aim remove_all elsewhere.
    if (dir.parent_path() != ctx.state_dir() || dir.filename() != "fs") {
      left.push_back(fmt::format("'{}': not this run's ephemeral layer dir, not removed", value));
      continue;
    }
    std::error_code ec;
    stdfs::remove_all(dir, ec);  // nothing there (killed before the mkdir) is no error
    if (ec) {
      left.push_back(fmt::format("remove '{}': {}", value, ec.message()));
      continue;
    }
    ctx.ledger().forget("ephemeral", value);
  }
  if (left.empty()) return;
  std::string what;
  for (const auto& l : left) what += (what.empty() ? "" : "; ") + l;
  throw Error(fmt::format("ephemeral overlay layers left in the ledger for `modrt gc`: {}", what));
}

}  // namespace modrt::fs
