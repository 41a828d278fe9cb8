#include "mount_points.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <deque>
#include <optional>

#include "modrt/error.hpp"

namespace modrt::fs {

namespace {

constexpr int kMaxSymlinks = 40;  // as resolve_in_root (the kernel's MAXSYMLINKS)

bool starts_with(const std::vector<std::string>& path, const std::vector<std::string>& prefix) {
  return prefix.size() <= path.size() && std::equal(prefix.begin(), prefix.end(), path.begin());
}

// One directory of the walk: in the image (fd set) or still to be made (fd empty).
struct Step {
  std::string name;
  UniqueFd fd;
};

std::vector<std::string> names_of(const std::vector<Step>& steps) {
  std::vector<std::string> out;
  for (const auto& s : steps) out.push_back(s.name);
  return out;
}

// resolve_in_root's walk without creating anything: symlinks of the image are followed inside it,
// a missing component and all below it are noted as to be made. Stops (nullopt) where
// resolve_in_root would refuse, and (empty) where the walk enters an earlier mount point.
// Returns the canonical path reached; `made` gets what resolve_in_root would create, in order.
std::optional<std::vector<std::string>> walk(int image_fd, const MountPoint& point,
                                             const std::vector<std::vector<std::string>>& mounted,
                                             std::vector<MissingPath>& made) {
  std::deque<std::string> pending;
  for (auto& part : split_path(point.path)) pending.push_back(std::move(part));
  std::vector<Step> steps;
  int links = 0;
  auto inside_a_mount = [&] {
    auto here = names_of(steps);
    return std::any_of(mounted.begin(), mounted.end(),
                       [&](const auto& m) { return starts_with(here, m); });
  };
  while (!pending.empty()) {
    std::string name = std::move(pending.front());
    pending.pop_front();
    if (name == "..") {
      if (steps.empty()) return std::nullopt;  // leaves the root: the workload refuses it
      steps.pop_back();
      continue;
    }
    const bool last = pending.empty();
    const Create kind = last ? point.kind : Create::directory;
    if (!steps.empty() && !steps.back().fd) {
      // Below a directory still to be made: so is this.
      steps.push_back({name, UniqueFd()});
      made.push_back({names_of(steps), kind});
    } else {
      int dir = steps.empty() ? image_fd : steps.back().fd.get();
      int fd = ::openat(dir, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        if (errno != ENOENT) return std::nullopt;
        steps.push_back({name, UniqueFd()});
        made.push_back({names_of(steps), kind});
      } else {
        UniqueFd entry(fd);
        struct stat st {};
        if (::fstat(entry.get(), &st) < 0) return std::nullopt;
        if (S_ISLNK(st.st_mode)) {
          if (++links > kMaxSymlinks) return std::nullopt;
          char target[PATH_MAX];
          ssize_t n = ::readlinkat(entry.get(), "", target, sizeof target - 1);
          if (n < 0) return std::nullopt;
          std::string_view link(target, static_cast<size_t>(n));
          if (link.starts_with('/')) steps.clear();
          auto parts = split_path(link);
          pending.insert(pending.begin(), parts.begin(), parts.end());
          continue;
        }
        if (!last && !S_ISDIR(st.st_mode)) return std::nullopt;
        steps.push_back({name, std::move(entry)});
      }
    }
    // Inside an earlier mount point the rest is that mount's business, not the image's; what was
    // noted for this point so far is then on the way to it, or that mount point itself.
    if (inside_a_mount()) return std::vector<std::string>{};
  }
  return names_of(steps);
}

// Owner to give a skeleton entry so that it shows as `id` does in the image: through an idmapped
// image, on-disk id N shows as container id N, i.e. as host id map(N).
uint32_t shown_as(const std::vector<IdMapping>& map, uint32_t id, bool idmapped) {
  if (!idmapped) return id;
  return map_to_host(map, id).value_or(id);
}

}  // namespace

void check_kernel_dirs(int root_fd, const std::string& root_name) {
  static constexpr const char* kWhy =
      "the kernel file systems (/proc, /sys, /dev) must be mounted on real directories of the "
      "image, or the masked and read-only paths under them would protect nothing: replace it "
      "with a directory in the image";
  for (const char* name : {"proc", "sys", "dev"}) {
    struct stat st {};
    if (::fstatat(root_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) continue;  // made as a directory where the mount point goes
      throw_errno("{}: stat '/{}'", root_name, name);
    }
    if (S_ISDIR(st.st_mode)) continue;
    if (!S_ISLNK(st.st_mode))
      throw Error(fmt::format("{}: '/{}' is not a directory; {}", root_name, name, kWhy), ENOTDIR);
    char target[PATH_MAX];
    ssize_t n = ::readlinkat(root_fd, name, target, sizeof target - 1);
    if (n < 0) throw_errno("{}: read symlink '/{}'", root_name, name);
    std::string_view link(target, static_cast<size_t>(n));
    // Worded as resolve_in_root words an escape when the link climbs out (a parent of "/" is "/",
    // so the text alone tells); either way it is refused, with the same fix.
    if (!stays_inside(link))
      throw Error(fmt::format("{}: '/{}' leaves the container's root: symlink '/{}' -> '{}'; {}",
                              root_name, name, name, link, kWhy),
                  EXDEV);
    throw Error(fmt::format("{}: '/{}' is a symlink to '{}'; {}", root_name, name, link, kWhy),
                ELOOP);
  }
}

std::string join_path(const std::vector<std::string>& components) {
  std::string out;
  for (const auto& c : components) out += "/" + c;
  return out.empty() ? "/" : out;
}

std::vector<MountPoint> planned_mount_points(const Context& ctx, const FsOptions& options,
                                             const std::vector<UniqueFd>& bind_sources) {
  std::vector<MountPoint> out{
      {"/proc", Create::directory}, {"/dev", Create::directory}, {"/sys", Create::directory}};
  size_t next_bind = 0;
  for (const auto& m : options.mounts) {
    Create kind = Create::directory;
    if (m.type == MountSpec::Type::bind) {
      struct stat st {};
      if (::fstat(bind_sources[next_bind++].get(), &st) < 0)
        throw_errno("stat bind source '{}'", m.source.string());
      if (!S_ISDIR(st.st_mode)) kind = Create::file;
    }
    out.push_back({m.destination, kind});
  }
  for (const auto& file : ctx.container_files) out.push_back({file.path, Create::file});
  return out;
}

std::vector<MissingPath> missing_in_image(int image_fd, const std::vector<MountPoint>& points) {
  std::vector<MissingPath> out;
  std::vector<std::vector<std::string>> mounted;
  for (const auto& point : points) {
    std::vector<MissingPath> made;
    auto reached = walk(image_fd, point, mounted, made);
    if (!reached) continue;
    for (auto& m : made) {
      bool known = std::any_of(out.begin(), out.end(),
                               [&](const auto& o) { return o.components == m.components; });
      if (!known) out.push_back(std::move(m));
    }
    if (!reached->empty()) mounted.push_back(std::move(*reached));
  }
  return out;
}

void make_skeleton(const Context& ctx, int image_fd, int skeleton_fd,
                   const std::vector<MissingPath>& missing, bool idmapped) {
  auto copy_attrs = [&](const std::string& relative, int fd) {
    struct stat st {};
    if (::fstatat(image_fd, relative.c_str(), &st, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) < 0)
      throw_errno("stat '{}' in the image", relative.empty() ? "/" : relative);
    if (::fchown(fd, shown_as(ctx.uid_map, st.st_uid, idmapped),
                 shown_as(ctx.gid_map, st.st_gid, idmapped)) < 0)
      throw_errno("chown '/{}' in the skeleton", relative);
    if (::fchmod(fd, st.st_mode & 07777) < 0) throw_errno("chmod '/{}' in the skeleton", relative);
  };
  // The skeleton's root is the overlay's root: it shows the image root's mode and owner.
  copy_attrs("", open_fd_at(skeleton_fd, ".", O_RDONLY | O_DIRECTORY).get());

  for (const auto& path : missing) {
    std::string relative;
    for (size_t i = 0; i < path.components.size(); ++i) {
      relative += (relative.empty() ? "" : "/") + path.components[i];
      struct stat st {};
      if (::fstatat(skeleton_fd, relative.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) continue;
      const bool in_image = ::fstatat(image_fd, relative.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
      const bool file = !in_image && i + 1 == path.components.size() && path.kind == Create::file;
      UniqueFd fd;
      if (file) {
        fd = open_fd_at(skeleton_fd, relative.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW,
                        0644);
      } else {
        if (::mkdirat(skeleton_fd, relative.c_str(), 0755) < 0)
          throw_errno("create '/{}' in the skeleton", relative);
        fd = open_fd_at(skeleton_fd, relative.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      }
      if (in_image) {
        copy_attrs(relative, fd.get());
        continue;
      }
      if (::fchown(fd.get(), ctx.root_host_uid(), ctx.root_host_gid()) < 0)
        throw_errno("chown '/{}' in the skeleton", relative);
      // Exact modes, whatever modrt's umask.
      if (::fchmod(fd.get(), file ? 0644 : 0755) < 0)
        throw_errno("chmod '/{}' in the skeleton", relative);
    }
  }
}

}  // namespace modrt::fs
