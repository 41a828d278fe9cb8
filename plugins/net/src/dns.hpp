// /etc/resolv.conf and /etc/hosts for the container, handed to the fs stage as ContainerFiles.
#pragma once

#include <string>

#include "options.hpp"

namespace modrt::net {

// resolv.conf from the `dns:` block.
std::string resolv_conf(const DnsOptions& dns);
// The host's resolv.conf minus loopback nameservers (unreachable from the container's netns);
// empty when no nameserver is left.
std::string filtered_host_resolv_conf(const std::string& host_text);
// hosts: localhost lines, then the container's address with its hostname and name.
std::string hosts_file(const std::string& address, const std::string& hostname,
                       const std::string& name);

}  // namespace modrt::net
