// The net plugin's lease files (plugins/net/src/ipam.cpp): what NetState reads back from
// <root>/.net after other runs, crashed runs or a hand edit wrote there. The input holds up to
// three files separated by NULs: a lease (pools/modrt0/10.88.0.2), the round-robin cursor
// (pools/modrt0/next) and a port claim (ports/tcp-8080). Each input then goes through what a run
// does with them: list and look up leases, allocate from a /30 whose only free host is the leased
// one (so the stale check and reclaim run), claim the published port, and release it all.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "fuzz_support.hpp"
#include "ipam.hpp"

namespace {

namespace stdfs = std::filesystem;
using namespace modrt::net;

const Ipv4 kLeased = *Ipv4::parse("10.88.0.2");

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const modrt::fuzz::ScratchDir scratch("ipam");
  const stdfs::path net = scratch.path() / ".net";
  const auto parts = modrt::fuzz::split_at_nul(modrt::fuzz::as_text(data, size));
  std::string_view lease_text = parts.first;  // not a binding: clang 14 lambdas cannot capture one
  const std::optional<std::string_view>& rest = parts.second;
  std::optional<std::string_view> next_text, port_text;
  if (rest) std::tie(next_text, port_text) = modrt::fuzz::split_at_nul(*rest);

  // A fresh tree per input: what the last one allocated or released must not leak into this one.
  stdfs::remove_all(net / "pools");
  stdfs::remove_all(net / "ports");
  stdfs::create_directories(net / "pools" / "modrt0");
  stdfs::create_directories(net / "ports");
  modrt::fuzz::write_bytes(net / "pools" / "modrt0" / kLeased.str(), lease_text);
  if (next_text) modrt::fuzz::write_bytes(net / "pools" / "modrt0" / "next", *next_text);
  if (port_text) modrt::fuzz::write_bytes(net / "ports" / "tcp-8080", *port_text);

  modrt::fuzz::expect_modrt_errors([&] { (void)parse_lease(kLeased, std::string(lease_text)); });
  modrt::fuzz::expect_modrt_errors([&] {
    NetState state(net);
    (void)state.leases("modrt0");
    (void)state.lease("modrt0", kLeased);
    (void)state.total_leases();
    Lease owner;
    owner.container = "fuzz";
    owner.pid = ::getpid();
    Ipv4 got =
        state.allocate("modrt0", *Cidr4::parse("10.88.0.0/30"), *Ipv4::parse("10.88.0.1"), owner);
    state.claim_port("tcp", 8080, "fuzz", got);
    state.release_port("tcp", 8080, "fuzz");
    state.release("modrt0", got, "fuzz");
  });
  return 0;
}
