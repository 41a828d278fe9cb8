// Outbound NAT and published ports in nftables, through libnftables, in a table of modrt's own:
//
//   table inet modrt
//     map ports4  { inet_proto . inet_service : ipv4_addr . inet_service }  one element per port
//     set masq4 / masq6 (intervals) { bridge subnets }     one element per bridge with nat
//     set nonat4 / nonat6 { container addresses }          one element per container with nat:
//     false chain prerouting/output (nat): local destination -> dnat via @ports4 chain postrouting
//     (nat): saddr in @nonat -> return; saddr in @masq -> masquerade
//
// The chains and rules are written once, when the table is created; afterwards only set elements
// come and go, so a container's rules are exactly its elements and never collide with another's.
// Masquerading is per subnet, not per container: the element comes with the bridge's first user and
// goes with its last, so a plain container (no ports, nat on) costs no nftables work at all, and
// libnftables' ~0.7 ms cold start stays off its start path.
#pragma once

#include <string>
#include <vector>

#include "address.hpp"
#include "options.hpp"

struct nft_ctx;

namespace modrt::net {

inline constexpr const char* kNftTable = "modrt";

// One libnftables context; errors carry nft's own message.
class Nft {
 public:
  Nft();
  ~Nft();
  Nft(const Nft&) = delete;
  Nft& operator=(const Nft&) = delete;
  // Runs commands as one atomic batch; throws Error("<what>: <nft message>").
  void run(const std::string& commands, const std::string& what);
  // Like run, but returns false (instead of throwing) when nft says an object does not exist.
  bool run_if_exists(const std::string& commands, const std::string& what);

 private:
  nft_ctx* ctx_;
};

// The commands that create the table with its sets, chains and rules ("create table" fails when it
// exists, which makes the whole batch fail: it never duplicates rules).
std::string table_commands();
// Element commands of one container ("add element ..." / "delete element ...").
std::string add_elements(const std::vector<std::string>& elements);
std::string delete_elements(const std::vector<std::string>& elements);

// Set elements a container owns, as "<set> <element>" strings (the ledger keeps them verbatim).
std::string masq_element(const Cidr4& subnet);
std::string masq6_element(const Cidr6& subnet);
std::string nonat_element(Ipv4 address);
std::string nonat6_element(const Ipv6& address);
std::string port_element(const PortMapping& port, Ipv4 address);

}  // namespace modrt::net
