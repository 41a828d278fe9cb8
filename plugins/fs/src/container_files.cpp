#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "modrt/error.hpp"
#include "mount_api.hpp"
#include "resolve.hpp"
#include "workload.hpp"

namespace modrt::fs {

// Files other stages want inside (resolv.conf, hosts) are written to a small private tmpfs and
// bound one by one onto their paths: the image and its overlay layers are never written, nothing
// is left on the host, and the tmpfs disappears with the last of the binds.
namespace {

// Before ~6.15 the kernel clones no file out of a mount that is still detached (open_tree:
// EINVAL). The store is then attached, for as long as the clones take, on a hidden directory of
// the container's own /dev tmpfs, and unmounted again before anything runs inside.
class AttachedStore {
 public:
  AttachedStore(int root_fd, int store_fd) : store_fd_(store_fd) {
    dev_ = resolve_in_root(root_fd, "/dev", Create::none);
    if (::mkdirat(dev_.get(), kDir, 0700) < 0) throw_errno("create /dev/{}", kDir);
    attach(store_fd, dev_.get(), kDir);
  }
  ~AttachedStore() {
    if (store_fd_ < 0) return;  // detach() ran; else a failed run, whose namespace dies anyway
    ::umount2(self().c_str(), MNT_DETACH);
    ::unlinkat(dev_.get(), kDir, AT_REMOVEDIR);
  }
  AttachedStore(const AttachedStore&) = delete;
  AttachedStore& operator=(const AttachedStore&) = delete;
  // Checked by the caller: a store left attached would show in the container's /dev.
  void detach() {
    if (::umount2(self().c_str(), MNT_DETACH) < 0) throw_errno("unmount /dev/{}", kDir);
    if (::unlinkat(dev_.get(), kDir, AT_REMOVEDIR) < 0) throw_errno("remove /dev/{}", kDir);
    store_fd_ = -1;
  }

 private:
  static constexpr const char* kDir = ".modrt-files";
  // The store's mount by its fd, through the host's /proc still visible before pivot_root.
  std::string self() const { return fmt::format("/proc/self/fd/{}", store_fd_); }
  UniqueFd dev_;
  int store_fd_;
};

}  // namespace

void place_container_files(Context& ctx, const FsOptions& options, int root_fd) {
  if (ctx.container_files.empty()) return;
  UniqueFd store = with_context("mount the container files' tmpfs", [&] {
    return FsContext("tmpfs")
        .set("mode", "755")
        .set("size", "1m")
        .mount(MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  });
  std::unique_ptr<AttachedStore> attached;
  for (size_t i = 0; i < ctx.container_files.size(); ++i) {
    const ContainerFile& file = ctx.container_files[i];
    with_context(fmt::format("place '{}'", file.path), [&] {
      std::string name = std::to_string(i);
      UniqueFd fd = open_fd_at(store.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY, file.mode);
      size_t done = 0;
      while (done < file.content.size()) {
        ssize_t n = ::write(fd.get(), file.content.data() + done, file.content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("write '{}'", file.path);
        done += static_cast<size_t>(n);
      }
      UniqueFd copy;
      if (!attached && !options.act_as_old_kernel)  // the hook plays an old kernel's refusal
        copy = try_clone_tree(store.get(), name.c_str(), false);
      if (!copy) {
        if (!attached) attached = std::make_unique<AttachedStore>(root_fd, store.get());
        copy = clone_tree(store.get(), name.c_str(), false);
      }
      // The image's symlinks are followed inside the root (/etc/resolv.conf ->
      // ../run/systemd/resolve/stub-resolv.conf is common), never out of it, and not into the
      // container's /proc, /sys or /dev.
      Reached reached;
      UniqueFd target = resolve_in_root(root_fd, file.path, Create::file, &reached);
      refuse_redirect_into_kernel_trees(file.path, reached);
      attach(copy.get(), target.get(), "");
    });
  }
  if (attached) with_context("put away the container files' tmpfs", [&] { attached->detach(); });
}

}  // namespace modrt::fs
