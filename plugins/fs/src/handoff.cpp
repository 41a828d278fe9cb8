#include "handoff.hpp"

#include <sys/socket.h>

#include <cstring>

#include "modrt/error.hpp"

namespace modrt::fs {

namespace {
constexpr size_t kMaxFds = 250;  // below the kernel's SCM_MAX_FD (253)
}

void send_fds(int socket_fd, const std::vector<UniqueFd>& fds) {
  if (fds.size() > kMaxFds)
    throw Error(fmt::format("too many host mounts to hand over ({} > {})", fds.size(), kMaxFds));
  uint32_t count = static_cast<uint32_t>(fds.size());
  iovec iov{&count, sizeof count};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * kMaxFds));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    for (size_t i = 0; i < fds.size(); ++i) {
      int fd = fds[i].get();
      std::memcpy(CMSG_DATA(cmsg) + i * sizeof(int), &fd, sizeof fd);
    }
  }
  if (::sendmsg(socket_fd, &msg, MSG_NOSIGNAL) < 0) throw_errno("hand mounts to the workload");
}

std::vector<UniqueFd> receive_fds(int socket_fd, size_t expected) {
  uint32_t count = 0;
  iovec iov{&count, sizeof count};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * kMaxFds));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  ssize_t n;
  do {
    n = ::recvmsg(socket_fd, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw_errno("receive mounts from modrt");
  std::vector<UniqueFd> fds;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < k; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      fds.emplace_back(fd);
    }
  }
  if (n == 0) throw Error("receive mounts from modrt: it closed the channel without sending");
  if (msg.msg_flags & MSG_CTRUNC) throw Error("receive mounts from modrt: file descriptors lost");
  if (fds.size() != expected || count != expected)
    throw Error(
        fmt::format("receive mounts from modrt: expected {} mounts, got {}", expected, fds.size()));
  return fds;
}

}  // namespace modrt::fs
