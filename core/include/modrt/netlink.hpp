// Netlink through libnl-3: an owned route socket (in the caller's netns or bound to another netns),
// owners for libnl objects, and libnl error codes translated to errno so that messages read like
// every other modrt error ("create veth 'mr1a2b' in netns of pid 4711: File exists").
#pragma once

#include <memory>
#include <string>
#include <utility>

#include <fmt/format.h>

struct nl_sock;
struct nl_object;
struct nl_addr;
struct nl_cache;

namespace modrt::netlink {

// Owns one nl_sock connected to NETLINK_ROUTE. A netlink socket belongs for its whole life to the
// netns its creator was in when it was made, whichever thread uses it afterwards.
class Socket {
 public:
  Socket() = default;
  Socket(Socket&& other) noexcept : sock_(std::exchange(other.sock_, nullptr)) {}
  Socket& operator=(Socket&& other) noexcept {
    if (this != &other) reset(std::exchange(other.sock_, nullptr));
    return *this;
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() { reset(); }

  // A route socket in the calling thread's network namespace.
  static Socket open();
  // A route socket in the network namespace behind netns_fd (/proc/PID/ns/net, /run/netns/X): it is
  // created on a short-lived thread that joined that namespace, so the caller never changes its
  // own.
  static Socket open_in(int netns_fd);

  nl_sock* get() const noexcept { return sock_; }
  explicit operator bool() const noexcept { return sock_ != nullptr; }

 private:
  explicit Socket(nl_sock* sock) noexcept : sock_(sock) {}
  void reset(nl_sock* sock = nullptr) noexcept;
  nl_sock* sock_ = nullptr;
};

// The errno closest to a (negative or positive) libnl error code; EIO when there is none.
int to_errno(int nl_error) noexcept;

// Throws Error("<message>: <strerror>") carrying the errno behind a libnl error code.
[[noreturn]] void throw_nl_error(int nl_error, std::string message);

// Throws when rc is a libnl error (< 0); returns rc otherwise.
template <typename... Args>
int check(int rc, fmt::format_string<Args...> format, Args&&... args) {
  if (rc < 0) throw_nl_error(rc, fmt::format(format, std::forward<Args>(args)...));
  return rc;
}

// Owners for libnl objects (rtnl_link, rtnl_addr, rtnl_route, ...: every nl_object), nl_addr and
// nl_cache. Object<rtnl_link> link(rtnl_link_alloc());
struct ObjectPut {
  void operator()(void* object) const noexcept;
};
template <typename T>
using Object = std::unique_ptr<T, ObjectPut>;

struct AddrPut {
  void operator()(nl_addr* addr) const noexcept;
};
using Addr = std::unique_ptr<nl_addr, AddrPut>;
// Parses "10.88.0.1/16", "10.88.0.1" or "fd00::1/64" (family AF_UNSPEC) or throws naming the text.
Addr parse_addr(const std::string& text);

struct CacheFree {
  void operator()(nl_cache* cache) const noexcept;
};
using Cache = std::unique_ptr<nl_cache, CacheFree>;

}  // namespace modrt::netlink
