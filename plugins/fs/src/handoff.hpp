// Handing detached mounts from modrt (host side) to the workload over a socketpair made before the
// clone. Mounts whose source is a host path are made by the host, which can see and is privileged
// over those paths; the workload only attaches them inside its own mount namespace.
#pragma once

#include <cstddef>
#include <vector>

#include "modrt/fd.hpp"

namespace modrt::fs {

// One message carrying every fd (SCM_RIGHTS); an empty list still sends the message.
void send_fds(int socket_fd, const std::vector<UniqueFd>& fds);
// Receives the message and checks it carries exactly `expected` fds.
std::vector<UniqueFd> receive_fds(int socket_fd, size_t expected);

}  // namespace modrt::fs
