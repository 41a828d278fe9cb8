#include "ports.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include <fmt/format.h>

#include "modrt/error.hpp"
#include "modrt/fd.hpp"

namespace modrt::net {

void check_host_port_free(const PortMapping& port) {
  int type = port.proto == "udp" ? SOCK_DGRAM : SOCK_STREAM;
  UniqueFd sock(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  if (!sock) throw_errno("check host port {}/{}: socket", port.host_port, port.proto);
  // SO_REUSEADDR: a TCP port with only TIME_WAIT connections left is free; a listener is not.
  int one = 1;
  ::setsockopt(sock.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port.host_port);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return;
  if (errno == EADDRINUSE)
    throw Error(fmt::format("host port {}/{} is in use by a process on the host", port.host_port,
                            port.proto),
                EADDRINUSE);
  throw_errno("check host port {}/{}: bind", port.host_port, port.proto);
}

}  // namespace modrt::net
