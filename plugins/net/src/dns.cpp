#include "dns.hpp"

#include <sstream>

#include <fmt/format.h>

namespace modrt::net {

std::string resolv_conf(const DnsOptions& dns) {
  std::string out = "# written by modrt (net stage)\n";
  for (const auto& ns : dns.nameservers) out += "nameserver " + ns + "\n";
  auto join = [](const std::vector<std::string>& words) {
    std::string s;
    for (const auto& w : words) s += (s.empty() ? "" : " ") + w;
    return s;
  };
  if (!dns.search.empty()) out += "search " + join(dns.search) + "\n";
  if (!dns.options.empty()) out += "options " + join(dns.options) + "\n";
  return out;
}

std::string filtered_host_resolv_conf(const std::string& host_text) {
  std::istringstream in(host_text);
  std::string out;
  bool any_nameserver = false;
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string key, value;
    words >> key >> value;
    if (key == "nameserver") {
      if (value.rfind("127.", 0) == 0 || value == "::1") continue;
      any_nameserver = true;
    }
    out += line + "\n";
  }
  return any_nameserver ? out : std::string();
}

std::string hosts_file(const std::string& address, const std::string& hostname,
                       const std::string& name) {
  std::string out =
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n";
  std::string names = hostname.empty() || hostname == name ? name : hostname + " " + name;
  out += fmt::format("{}\t{}\n", address.empty() ? "127.0.1.1" : address, names);
  return out;
}

}  // namespace modrt::net
