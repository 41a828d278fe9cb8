#include "resolve.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <deque>

#include "modrt/error.hpp"

namespace modrt::fs {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (!part.empty() && part != ".") out.emplace_back(part);
    i = j + 1;
  }
  return out;
}

bool stays_inside(std::string_view path) {
  int depth = 0;
  for (const auto& part : split_path(path)) {
    depth += part == ".." ? -1 : 1;
    if (depth < 0) return false;
  }
  return true;
}

namespace {

constexpr int kMaxSymlinks = 40;  // the kernel's own limit (MAXSYMLINKS)

// One syscall for the common case: a path that exists and has no absolute symlink or `..` on the
// way. RESOLVE_BENEATH refuses anything that could leave root_fd; the walk below then decides
// whether it really escapes (refuse) or merely uses an absolute symlink inside the root (follow).
UniqueFd open_beneath(int root_fd, const std::string& relative, bool no_symlinks) {
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | (no_symlinks ? RESOLVE_NO_SYMLINKS : 0);
  long fd = ::syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof how);
  return UniqueFd(fd < 0 ? -1 : static_cast<int>(fd));  // errno stays for the caller
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    out.push_back('/');
    out.append(p);
  }
  return out.empty() ? "/" : out;
}

void create_missing(int dir_fd, const std::string& name, Create kind, const std::string& shown) {
  if (kind == Create::file) {
    int fd =
        ::openat(dir_fd, name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::close(fd);
      return;
    }
  } else if (::mkdirat(dir_fd, name.c_str(), 0755) == 0) {
    return;
  }
  // Lost a race with another creator: fine, the lookup that follows sees it.
  if (errno == EROFS)
    throw Error(fmt::format("create '{}' as a mount point: it is missing and the file system that "
                            "would hold it is read-only (the image, or a read-only bind): create "
                            "it in the image or the bind's source, or give the fs stage an overlay",
                            shown),
                EROFS);
  if (errno != EEXIST) throw_errno("create '{}'", shown);
}

}  // namespace

std::string_view kernel_tree(std::string_view path) {
  auto parts = split_path(path);
  if (parts.empty()) return {};
  for (std::string_view tree : {"proc", "sys", "dev"})
    if (parts.front() == tree) return tree;
  return {};
}

void refuse_redirect_into_kernel_trees(std::string_view path, const Reached& reached) {
  if (reached.via.empty()) return;  // no symlink on the way: the path says where it goes
  std::string_view tree = kernel_tree(reached.path);
  if (tree.empty() || tree == kernel_tree(path)) return;
  throw Error(fmt::format("'{}' leads into the container's /{} through the image's symlink {} "
                          "(it reaches '{}'): nothing is mounted into /proc, /sys or /dev by way "
                          "of a symlink, where it would cover the kernel's or the stage's own "
                          "files; replace the symlink in the image with a real file or directory",
                          path, tree, reached.via, reached.path),
              ELOOP);
}

UniqueFd resolve_in_root(int root_fd, std::string_view path, Create create, Reached* reached) {
  std::string relative;
  std::vector<std::string> plain;  // the path with its `..` applied: where it leads without links
  for (const auto& part : split_path(path)) {
    if (!relative.empty()) relative.push_back('/');
    relative.append(part);
    if (part != "..")
      plain.push_back(part);
    else if (!plain.empty())
      plain.pop_back();
  }
  if (relative.empty()) relative.push_back('.');
  if (UniqueFd fd = open_beneath(root_fd, relative, reached != nullptr)) {
    if (reached) *reached = {join(plain), ""};
    return fd;
  }
  // RESOLVE_BENEATH reports an escape as EXDEV at the point it happens; ENOENT means a component
  // is missing before any escape, which the walk below would only find again.
  if (errno == ENOENT && create == Create::none)
    throw_errno("resolve '{}' in the container's root", path);

  std::deque<std::string> pending;
  for (auto& part : split_path(path)) pending.push_back(std::move(part));
  std::vector<UniqueFd> dirs;      // fds of the directories walked so far, below root_fd
  std::vector<std::string> names;  // their names, for messages
  std::string via;                 // the last symlink followed, for the escape message
  int links = 0;
  auto current = [&] { return dirs.empty() ? root_fd : dirs.back().get(); };

  while (!pending.empty()) {
    std::string name = std::move(pending.front());
    pending.pop_front();
    if (name == "..") {
      if (dirs.empty()) {
        if (via.empty())
          throw Error(fmt::format("'{}' leaves the container's root through '..'", path), EXDEV);
        throw Error(fmt::format("'{}' leaves the container's root: symlink {}", path, via), EXDEV);
      }
      dirs.pop_back();
      names.pop_back();
      continue;
    }
    bool last = pending.empty();
    std::string shown = names.empty() ? std::string() : join(names);
    shown.push_back('/');
    shown.append(name);
    int fd = ::openat(current(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create != Create::none) {
      create_missing(current(), name, last ? create : Create::directory, shown);
      fd = ::openat(current(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) throw_errno("resolve '{}' in the container's root: '{}'", path, shown);
    UniqueFd entry(fd);
    struct stat st {};
    if (::fstat(entry.get(), &st) < 0) throw_errno("stat '{}'", shown);
    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxSymlinks) {
        errno = ELOOP;
        throw_errno("resolve '{}' in the container's root", path);
      }
      char target[PATH_MAX];
      ssize_t n = ::readlinkat(entry.get(), "", target, sizeof target - 1);
      if (n < 0) throw_errno("read symlink '{}'", shown);
      std::string_view link(target, static_cast<size_t>(n));
      via = fmt::format("'{}' -> '{}'", shown, link);
      if (link.starts_with('/')) {
        dirs.clear();
        names.clear();
      }
      auto parts = split_path(link);
      pending.insert(pending.begin(), parts.begin(), parts.end());
      continue;
    }
    if (!last && !S_ISDIR(st.st_mode)) {
      errno = ENOTDIR;
      throw_errno("resolve '{}' in the container's root: '{}'", path, shown);
    }
    dirs.push_back(std::move(entry));
    names.push_back(name);
  }
  if (reached) *reached = {join(names), via};
  if (dirs.empty()) return open_fd_at(root_fd, ".", O_PATH | O_DIRECTORY);
  return std::move(dirs.back());
}

}  // namespace modrt::fs
