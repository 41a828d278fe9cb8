#include "modrt/netlink.hpp"

#include <fcntl.h>
#include <sched.h>

#include <cerrno>

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/object.h>
#include <netlink/socket.h>

#include "modrt/error.hpp"
#include "modrt/process.hpp"

namespace modrt::netlink {

namespace {

nl_sock* connect_route_socket() {
  nl_sock* sock = nl_socket_alloc();
  if (!sock) throw Error("netlink: allocate socket: out of memory", ENOMEM);
  int rc = nl_connect(sock, NETLINK_ROUTE);
  if (rc < 0) {
    nl_socket_free(sock);
    throw_nl_error(rc, "netlink: connect route socket");
  }
  // libnl opens without SOCK_CLOEXEC; the socket must not reach the workload through exec.
  int fd = nl_socket_get_fd(sock);
  if (fd >= 0) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
  return sock;
}

}  // namespace

Socket Socket::open() {
  return Socket(connect_route_socket());
}

Socket Socket::open_in(int netns_fd) {
  nl_sock* sock = nullptr;
  run_in_namespace(netns_fd, CLONE_NEWNET, [&] { sock = connect_route_socket(); });
  return Socket(sock);
}

void Socket::reset(nl_sock* sock) noexcept {
  if (sock_) nl_socket_free(sock_);
  sock_ = sock;
}

int to_errno(int nl_error) noexcept {
  switch (nl_error < 0 ? -nl_error : nl_error) {
    case NLE_INTR:
      return EINTR;
    case NLE_BAD_SOCK:
      return EBADF;
    case NLE_AGAIN:
      return EAGAIN;
    case NLE_NOMEM:
      return ENOMEM;
    case NLE_EXIST:
      return EEXIST;
    case NLE_INVAL:
      return EINVAL;
    case NLE_RANGE:
      return ERANGE;
    case NLE_MSGSIZE:
      return EMSGSIZE;
    case NLE_OPNOTSUPP:
      return EOPNOTSUPP;
    case NLE_AF_NOSUPPORT:
      return EAFNOSUPPORT;
    case NLE_OBJ_NOTFOUND:
      return ENOENT;
    case NLE_NOADDR:
      return EADDRNOTAVAIL;
    case NLE_BUSY:
      return EBUSY;
    case NLE_NOACCESS:
      return EACCES;
    case NLE_PERM:
      return EPERM;
    case NLE_NODEV:
      return ENODEV;
    default:
      return EIO;
  }
}

void throw_nl_error(int nl_error, std::string message) {
  int code = to_errno(nl_error);
  // strerror reads better for the errno-backed codes; libnl's own text names the rest.
  if (code != EIO) throw_system_error(code, std::move(message));
  throw Error(fmt::format("{}: {}", message, nl_geterror(nl_error)), EIO);
}

void ObjectPut::operator()(void* object) const noexcept {
  if (object) nl_object_put(static_cast<nl_object*>(object));
}

void AddrPut::operator()(nl_addr* addr) const noexcept {
  if (addr) nl_addr_put(addr);
}

void CacheFree::operator()(nl_cache* cache) const noexcept {
  if (cache) nl_cache_free(cache);
}

Addr parse_addr(const std::string& text) {
  nl_addr* addr = nullptr;
  int rc = nl_addr_parse(text.c_str(), AF_UNSPEC, &addr);
  if (rc < 0) throw_nl_error(rc, fmt::format("parse address '{}'", text));
  return Addr(addr);
}

}  // namespace modrt::netlink
