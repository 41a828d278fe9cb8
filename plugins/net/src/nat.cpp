#include "nat.hpp"

#include <dlfcn.h>
#include <nftables/libnftables.h>

#include <cerrno>

#include <fmt/format.h>

#include "modrt/error.hpp"

namespace modrt::net {

namespace {

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// The first line of nft's error output carries the reason ("Error: Could not process rule: ...").
std::string first_error_line(const char* buffer) {
  std::string text = buffer ? buffer : "";
  auto pos = text.find("Error: ");
  if (pos != std::string::npos) text = text.substr(pos + 7);
  auto nl = text.find('\n');
  return trim(nl == std::string::npos ? text : text.substr(0, nl));
}

// libnftables, opened the first time a run needs nftables. Linking it would load it and its five
// dependencies (772 symbol bindings, ~0.8 ms of CPU) into every run that loads this plugin, even
// the many that never touch nftables (bridge without ports: masquerade is per subnet, set once).
struct LibNftables {
  decltype(&nft_ctx_new) ctx_new;
  decltype(&nft_ctx_free) ctx_free;
  decltype(&nft_ctx_buffer_output) buffer_output;
  decltype(&nft_ctx_buffer_error) buffer_error;
  decltype(&nft_run_cmd_from_buffer) run_cmd_from_buffer;
  decltype(&nft_ctx_get_error_buffer) get_error_buffer;

  static const LibNftables& get() {
    static const LibNftables lib = open();
    return lib;
  }

 private:
  template <typename F>
  static F symbol(void* handle, const char* name) {
    void* p = ::dlsym(handle, name);
    if (!p) throw Error(fmt::format("nftables: libnftables.so.1 has no '{}'", name));
    return reinterpret_cast<F>(p);
  }
  static LibNftables open() {
    // Kept loaded for the rest of the process: contexts may be made again by later hooks.
    void* handle = ::dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!handle)
      throw Error(
          fmt::format("nftables: cannot load libnftables.so.1 (Debian package "
                      "libnftables1): {}",
                      ::dlerror()));
    return {symbol<decltype(&nft_ctx_new)>(handle, "nft_ctx_new"),
            symbol<decltype(&nft_ctx_free)>(handle, "nft_ctx_free"),
            symbol<decltype(&nft_ctx_buffer_output)>(handle, "nft_ctx_buffer_output"),
            symbol<decltype(&nft_ctx_buffer_error)>(handle, "nft_ctx_buffer_error"),
            symbol<decltype(&nft_run_cmd_from_buffer)>(handle, "nft_run_cmd_from_buffer"),
            symbol<decltype(&nft_ctx_get_error_buffer)>(handle, "nft_ctx_get_error_buffer")};
  }
};

}  // namespace

Nft::Nft() : ctx_(LibNftables::get().ctx_new(NFT_CTX_DEFAULT)) {
  if (!ctx_) throw Error("nftables: create context: out of memory", ENOMEM);
  LibNftables::get().buffer_output(ctx_);
  LibNftables::get().buffer_error(ctx_);
}

Nft::~Nft() {
  LibNftables::get().ctx_free(ctx_);
}

void Nft::run(const std::string& commands, const std::string& what) {
  const LibNftables& nft = LibNftables::get();
  if (nft.run_cmd_from_buffer(ctx_, commands.c_str()) != 0)
    throw Error(fmt::format("nftables: {}: {}", what, first_error_line(nft.get_error_buffer(ctx_))),
                EINVAL);
}

bool Nft::run_if_exists(const std::string& commands, const std::string& what) {
  const LibNftables& nft = LibNftables::get();
  if (nft.run_cmd_from_buffer(ctx_, commands.c_str()) == 0) return true;
  std::string error = first_error_line(nft.get_error_buffer(ctx_));
  if (error.find("No such file or directory") != std::string::npos) return false;
  throw Error(fmt::format("nftables: {}: {}", what, error), EINVAL);
}

std::string table_commands() {
  // The output hook has no "dstnat" keyword in inet tables of nft 1.0.x; -100 is its value.
  return fmt::format(
      "create table inet {0}\n"
      "add map inet {0} ports4 {{ type inet_proto . inet_service : ipv4_addr . inet_service ; }}\n"
      "add set inet {0} masq4 {{ type ipv4_addr ; flags interval ; }}\n"
      "add set inet {0} masq6 {{ type ipv6_addr ; flags interval ; }}\n"
      "add set inet {0} nonat4 {{ type ipv4_addr ; }}\n"
      "add set inet {0} nonat6 {{ type ipv6_addr ; }}\n"
      "add chain inet {0} prerouting {{ type nat hook prerouting priority -100 ; policy accept ; "
      "}}\n"
      "add chain inet {0} output {{ type nat hook output priority -100 ; policy accept ; }}\n"
      "add chain inet {0} postrouting {{ type nat hook postrouting priority 100 ; policy accept ; "
      "}}\n"
      "add chain inet {0} guard {{ type filter hook prerouting priority -300 ; policy accept ; }}\n"
      "add rule inet {0} prerouting meta nfproto ipv4 fib daddr type local "
      "dnat ip to meta l4proto . th dport map @ports4\n"
      "add rule inet {0} output meta nfproto ipv4 fib daddr type local "
      "dnat ip to meta l4proto . th dport map @ports4\n"
      // 127.0.0.1:PORT -> container: the bridge routes loopback-sourced packets (route_localnet),
      // and they leave with the bridge's address, which the container can answer.
      "add rule inet {0} postrouting ip saddr 127.0.0.0/8 masquerade\n"
      // route_localnet must not let a container reach the host's loopback services: a packet to
      // 127/8 that did not come from lo is dropped before routing (CVE-2020-8558).
      "add rule inet {0} guard iifname != \"lo\" ip daddr 127.0.0.0/8 drop\n"
      "add rule inet {0} postrouting ip saddr @nonat4 return\n"
      "add rule inet {0} postrouting ip6 saddr @nonat6 return\n"
      "add rule inet {0} postrouting ip saddr @masq4 masquerade\n"
      "add rule inet {0} postrouting ip6 saddr @masq6 masquerade\n",
      kNftTable);
}

std::string add_elements(const std::vector<std::string>& elements) {
  std::string out;
  for (const auto& e : elements) {
    auto space = e.find(' ');
    out += fmt::format("add element inet {} {} {{ {} }}\n", kNftTable, e.substr(0, space),
                       e.substr(space + 1));
  }
  return out;
}

std::string delete_elements(const std::vector<std::string>& elements) {
  std::string out;
  for (const auto& e : elements) {
    auto space = e.find(' ');
    std::string key = e.substr(space + 1);
    // A map element is deleted by its key alone.
    if (auto colon = key.find(" : "); colon != std::string::npos) key = key.substr(0, colon);
    out += fmt::format("delete element inet {} {} {{ {} }}\n", kNftTable, e.substr(0, space), key);
  }
  return out;
}

std::string masq_element(const Cidr4& subnet) {
  return "masq4 " + subnet.str();
}

std::string masq6_element(const Cidr6& subnet) {
  return "masq6 " + subnet.str();
}

std::string nonat_element(Ipv4 address) {
  return "nonat4 " + address.str();
}

std::string nonat6_element(const Ipv6& address) {
  return "nonat6 " + address.str();
}

std::string port_element(const PortMapping& port, Ipv4 address) {
  return fmt::format("ports4 {} . {} : {} . {}", port.proto, port.host_port, address.str(),
                     port.container_port);
}

}  // namespace modrt::net
