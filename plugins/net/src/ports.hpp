// Published ports: a host port is refused when a host socket already holds it, since the DNAT rule
// would silently steal that service's traffic.
#pragma once

#include "options.hpp"

namespace modrt::net {

// Throws Error("host port 8080/tcp is in use on the host", EADDRINUSE) when binding it fails.
void check_host_port_free(const PortMapping& port);

}  // namespace modrt::net
