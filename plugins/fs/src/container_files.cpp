#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "modrt/error.hpp"
#include "mount_api.hpp"
#include "resolve.hpp"
#include "workload.hpp"

namespace modrt::fs {

// Files other stages want inside (resolv.conf, hosts) are written to a small private tmpfs and
// bound one by one onto their paths: the image and its overlay layers are never written, nothing
// is left on the host, and the tmpfs disappears with the last of the binds.
void place_container_files(Context& ctx, int root_fd) {
  if (ctx.container_files.empty()) return;
  UniqueFd store = with_context("mount the container files' tmpfs", [&] {
    return FsContext("tmpfs")
        .set("mode", "755")
        .set("size", "1m")
        .mount(MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  });
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
      UniqueFd copy = clone_tree(store.get(), name.c_str(), false);
      UniqueFd target = resolve_in_root(root_fd, file.path, Create::file);
      attach(copy.get(), target.get(), "");
    });
  }
}

}  // namespace modrt::fs
