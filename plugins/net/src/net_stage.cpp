// The net stage: gives the workload its network (none / host / bridge / join) and takes it back.
//
//   prepare         host  check the host, lease the address, claim published ports, ensure the
//                         bridge, queue resolv.conf + hosts for the fs stage
//   apply_host      host  in parallel: this container's nft elements; the veth pair with its peer
//                         born in the workload's netns; then addresses, routes and lo inside it
//   apply_workload  child mode join only: setns into the given netns
//   rollback        host  from the ledger alone: veth, nft elements, ports, lease, then the bridge
//                         and the table when modrt made them and nobody uses them any more
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <memory>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "bridge.hpp"
#include "dns.hpp"
#include "ipam.hpp"
#include "link.hpp"
#include "modrt/context.hpp"
#include "modrt/error.hpp"
#include "modrt/netlink.hpp"
#include "modrt/plugin.hpp"
#include "modrt/process.hpp"
#include "nat.hpp"
#include "options.hpp"
#include "ports.hpp"
#include "veth.hpp"

namespace modrt::net {

namespace {

namespace fs = std::filesystem;

// Ledger kinds. Every value is self-contained, so `modrt gc` can undo a run from the ledger alone.
constexpr const char* kVeth = "veth";       // host end name
constexpr const char* kLease = "lease";     // "<pool> <address>"
constexpr const char* kPort = "port";       // "<proto> <host port>"
constexpr const char* kNftElement = "nft";  // "<set> <element>" (see nat.hpp)
constexpr const char* kBridge = "bridge";   // bridge name: consider removing it when unused

constexpr const char* kTableMarker = "nft-table";
constexpr const char* kForwardMarker = "ip-forward";
std::string bridge_marker(const std::string& bridge) {
  return "bridge-" + bridge;
}
// The bridge's masquerade elements (one per line), removed with its last lease.
std::string masq_marker(const std::string& bridge) {
  return "masq-" + bridge;
}

std::string join_lines(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += item + "\n";
  return out;
}

constexpr const char* kIpForward = "/proc/sys/net/ipv4/ip_forward";
constexpr const char* kIp6Forward = "/proc/sys/net/ipv6/conf/all/forwarding";

fs::path net_dir(const Context& ctx) {
  return ctx.state_root() / ".net";
}

std::pair<std::string, std::string> split_pair(const std::string& value) {
  auto space = value.find(' ');
  if (space == std::string::npos) return {value, {}};
  return {value.substr(0, space), value.substr(space + 1)};
}

bool workload_known_dead(const Context& ctx) {
  if (ctx.pidfd < 0) return false;
  // glibc's sys/pidfd.h lacks C linkage for C++ in this release: call the syscall directly.
  return ::syscall(SYS_pidfd_send_signal, ctx.pidfd, 0, nullptr, 0) < 0 && errno == ESRCH;
}

// Turns forwarding on when it is off, remembering that modrt did (the last user turns it back off).
void enable_forwarding(NetState& state, const char* path, const char* marker) {
  std::string value = read_file(path);
  if (!value.empty() && value[0] == '1') return;
  write_file(path, "1");
  state.set_marker(marker, "1");
}

class NetStage final : public Stage {
 public:
  explicit NetStage(NetOptions options) : o_(std::move(options)) {}

  void prepare(Context& ctx) override {
    switch (o_.mode) {
      case Mode::host:
        if ((ctx.clone_flags | ctx.namespaces) & CLONE_NEWNET)
          throw Error(
              "mode host shares the host's network, but a stage before asked for a new "
              "network namespace (CLONE_NEWNET)");
        queue_files(ctx, "");
        return;
      case Mode::none:
        ctx.clone_flags |= CLONE_NEWNET;
        ctx.namespaces |= CLONE_NEWNET;
        queue_files(ctx, "");
        return;
      case Mode::join:
        prepare_join(ctx);
        queue_files(ctx, "");
        return;
      case Mode::bridge:
        // Cloned with it even when the ns stage would make the others inside the workload (after
        // a join.user): the veth has to be created in it from here, in apply_host.
        ctx.clone_flags |= CLONE_NEWNET;
        ctx.namespaces |= CLONE_NEWNET;
        prepare_bridge(ctx);
        return;
    }
  }

  void apply_host(Context& ctx) override {
    if (o_.mode != Mode::bridge && o_.mode != Mode::none) return;
    UniqueFd netns = open_namespace(ctx.pid, "net");
    // Three independent pieces of work run side by side (the workload exists, so threads are safe
    // now): this container's nft elements on the host, a netlink socket inside the workload's netns
    // (a thread of its own must join the netns to make it), and the veth pair.
    std::future<void> firewall;
    if (!elements_.empty())
      firewall = std::async(std::launch::async, [this, dir = net_dir(ctx)] { publish(dir); });
    std::future<netlink::Socket> inside_future = std::async(std::launch::async, [fd = netns.get()] {
      netlink::Socket sock = netlink::Socket::open_in(fd);
      loopback_up(sock.get());
      return sock;
    });
    if (o_.mode == Mode::bridge) {
      VethSpec spec{.host_name = veth_,
                    .bridge_ifindex = bridge_ifindex_,
                    .netns_fd = netns.get(),
                    .pid = ctx.pid,
                    .peer_name = o_.interface,
                    .mtu = o_.mtu,
                    .mac = o_.mac};
      create_veth(host_.get(), spec);
      // Recorded once it exists: a name taken by someone else (EEXIST) must never be "undone".
      // Should modrt die right here, the veth still goes with the workload's netns.
      ctx.ledger().record(kVeth, veth_);
    }
    // The socket pins the netns while it lives: it is closed at the end of this scope, so the netns
    // (and the veth with it) goes away as soon as the workload does.
    netlink::Socket inside = with_context(fmt::format("configure the netns of pid {}", ctx.pid),
                                          [&] { return inside_future.get(); });
    if (o_.mode == Mode::bridge) {
      with_context(fmt::format("configure the netns of pid {}", ctx.pid), [&] {
        InsideSpec spec{.ifname = o_.interface,
                        .address = fmt::format("{}/{}", address_.str(), o_.subnet.prefix),
                        .gateway = o_.gateway.str(),
                        .address6 = {},
                        .gateway6 = {}};
        if (o_.subnet6) {
          spec.address6 = fmt::format("{}/{}", address6().str(), o_.subnet6->prefix);
          spec.gateway6 = o_.subnet6->host(1).str();
        }
        configure_inside(inside.get(), spec);
      });
    }
    if (firewall.valid()) firewall.get();
    host_ = netlink::Socket();
  }

  void apply_workload(Context&) override {
    if (o_.mode != Mode::join) return;
    if (::setns(join_fd_.get(), CLONE_NEWNET) < 0) {
      if (errno == EPERM)
        throw_errno(
            "join netns '{}' (a workload in its own user namespace may only join network "
            "namespaces that user namespace owns)",
            o_.join);
      throw_errno("join netns '{}'", o_.join);
    }
    join_fd_.reset();
  }

  void rollback(Context& ctx) noexcept override {
    Ledger& ledger = ctx.ledger();
    if (ledger.empty()) return;
    join_fd_.reset();
    try {
      for (const auto& veth : ledger.values(kVeth)) {
        remove_veth(ctx, veth);
        ledger.forget(kVeth, veth);
      }
    } catch (const std::exception& e) {
      ctx.log().error("rollback: {}", e.what());
    }
    try {
      NetState state(net_dir(ctx));
      release_shared(ctx, state);
    } catch (const std::exception& e) {
      ctx.log().error("rollback: {}", e.what());
    }
  }

  std::vector<std::pair<std::string, std::string>> stats(Context& ctx) override {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& lease : ctx.ledger().values(kLease))
      out.emplace_back("net.address", split_pair(lease).second);
    for (const auto& veth : ctx.ledger().values(kVeth)) out.emplace_back("net.veth", veth);
    for (const auto& port : ctx.ledger().values(kPort)) out.emplace_back("net.port", port);
    return out;
  }

 private:
  void prepare_join(Context& ctx) {
    join_fd_ = open_fd(o_.join.c_str(), O_RDONLY);
    int type = ::ioctl(join_fd_.get(), NS_GET_NSTYPE);
    if (type != CLONE_NEWNET) throw Error(fmt::format("'{}' is not a network namespace", o_.join));
    // The workload joins that netns in apply_workload; a netns of its own would only be thrown
    // away.
    ctx.clone_flags &= ~static_cast<uint64_t>(CLONE_NEWNET);
    ctx.namespaces &= ~static_cast<uint64_t>(CLONE_NEWNET);
  }

  void prepare_bridge(Context& ctx) {
    Ledger& ledger = ctx.ledger();
    // Cheap checks first, so bad input fails before anything is acquired.
    for (const auto& port : o_.ports) check_host_port_free(port);

    NetState state(net_dir(ctx));
    host_ = netlink::Socket::open();
    veth_ = host_veth_name(ctx.name());

    Lease owner{.address = {},
                .container = ctx.name(),
                .pid = ::getpid(),
                .start_time = process_start_time(::getpid()),
                .veth = veth_};
    if (o_.ip) {
      owner.address = *o_.ip;
      state.claim(o_.bridge, owner);
      address_ = *o_.ip;
    } else {
      address_ = state.allocate(o_.bridge, o_.subnet, o_.gateway, owner);
    }
    ledger.record(kLease, fmt::format("{} {}", o_.bridge, address_.str()));

    for (const auto& port : o_.ports) {
      state.claim_port(port.proto, port.host_port, ctx.name(), address_);
      ledger.record(kPort, fmt::format("{} {}", port.proto, port.host_port));
    }

    ledger.record(kBridge, o_.bridge);
    bool known = state.marker(bridge_marker(o_.bridge)).has_value();
    BridgeResult bridge =
        ensure_bridge(host_.get(), o_.bridge, o_.subnet, o_.gateway, o_.subnet6, known);
    bridge_ifindex_ = bridge.ifindex;
    if (bridge.change == BridgeChange::created)
      state.set_marker(bridge_marker(o_.bridge), "created");
    if (bridge.change == BridgeChange::address_added) {
      std::string marker = fmt::format("address {}/{}", o_.gateway.str(), o_.subnet.prefix);
      if (o_.subnet6)
        marker += fmt::format(" {}/{}", o_.subnet6->host(1).str(), o_.subnet6->prefix);
      state.set_marker(bridge_marker(o_.bridge), marker);
    }

    if (!o_.nat) {
      elements_.push_back(nonat_element(address_));
      if (o_.subnet6) elements_.push_back(nonat6_element(address6()));
    }
    for (const auto& port : o_.ports) elements_.push_back(port_element(port, address_));
    // Recorded now, added in apply_host (beside the veth); rollback tolerates their absence.
    for (const auto& e : elements_) ledger.record(kNftElement, e);

    std::string masq = masq_marker(o_.bridge);
    if (o_.nat && !state.marker(masq)) {
      // The first user of this bridge that wants NAT: the subnet's masquerade element (and the
      // table, if this is the first of all). Once per bridge lifetime, like the bridge itself.
      std::vector<std::string> subnet{masq_element(o_.subnet)};
      if (o_.subnet6) subnet.push_back(masq6_element(*o_.subnet6));
      state.set_marker(masq, join_lines(subnet));
      add_to_table(state, subnet);
    }
    if (o_.nat || !o_.ports.empty()) {
      enable_forwarding(state, kIpForward, kForwardMarker);
      // IPv6 forwarding is not switched on behind the admin's back: with it on, the kernel stops
      // accepting router advertisements on every interface, and the host may lose its own route.
      if (o_.subnet6 && read_file(kIp6Forward).rfind('1', 0) != 0)
        ctx.log().warn("IPv6 forwarding is off ({}): the container's IPv6 stays on the bridge",
                       kIp6Forward);
    }
    queue_files(ctx, address_.str());
  }

  // Runs on a thread of apply_host: touches no Context, takes the shared-state lock itself.
  void publish(const fs::path& dir) {
    NetState state(dir);
    add_to_table(state, elements_);
  }

  // Adds elements to table inet modrt, creating the table when modrt has not (or it vanished).
  static void add_to_table(NetState& state, const std::vector<std::string>& elements) {
    Nft nft;
    std::string add = add_elements(elements);
    if (!state.marker(kTableMarker)) {
      try {
        nft.run(table_commands() + add, "create table inet modrt");
        state.set_marker(kTableMarker, "created");
      } catch (const Error&) {
        // The table is there already, made by another modrt state root or by hand: use it, and
        // leave its removal to whoever made it.
        nft.run(add, "add elements to table inet modrt");
      }
    } else if (!nft.run_if_exists(add, "add elements to table inet modrt")) {
      // The marker says modrt made the table, but it is gone (flushed by hand): make it again.
      nft.run(table_commands() + add, "create table inet modrt");
    }
  }

  Ipv6 address6() const { return o_.subnet6->host(o_.subnet.index_of(address_)); }

  void queue_files(Context& ctx, const std::string& address) {
    if (o_.dns.configured()) {
      ctx.container_files.push_back({"/etc/resolv.conf", resolv_conf(o_.dns), 0644});
    } else if (o_.mode == Mode::bridge) {
      // Outbound NAT makes the host's resolvers reachable, except those on the host's loopback.
      std::string host;
      try {
        host = filtered_host_resolv_conf(read_file("/etc/resolv.conf"));
      } catch (const Error&) {
      }
      if (!host.empty()) ctx.container_files.push_back({"/etc/resolv.conf", host, 0644});
    }
    if (o_.write_hosts && o_.mode != Mode::host)
      ctx.container_files.push_back(
          {"/etc/hosts", hosts_file(address, ctx.config().hostname, ctx.name()), 0644});
  }

  void remove_veth(Context& ctx, const std::string& veth) {
    netlink::Socket sock = netlink::Socket::open();
    if (!find_link(sock.get(), veth)) return;
    // A veth dies with the netns of its peer; the kernel tears a netns down shortly after its last
    // process exits (cleanup_net, after an RCU grace period: 15-30 ms here). With a pid namespace
    // of its own, nothing but the workload's processes can hold that netns (modrt never bind-mounts
    // it), and they all died with it: the veth is on its way out, and waiting would only slow the
    // exit down. Without one, a process the workload left behind may keep the netns (and the veth,
    // and the address) alive: wait a little for the teardown, then delete the veth ourselves.
    bool dead = workload_known_dead(ctx);
    if (dead && ((ctx.clone_flags | ctx.namespaces) & CLONE_NEWPID)) {
      ctx.log().debug("veth '{}' goes with the workload's netns", veth);
      return;
    }
    if (dead) {
      using namespace std::chrono_literals;
      auto deadline = std::chrono::steady_clock::now() + 500ms;
      while (std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(1ms);
        if (!find_link(sock.get(), veth)) return;
      }
    }
    if (delete_link(sock.get(), veth)) ctx.log().debug("deleted veth '{}'", veth);
  }

  void release_shared(Context& ctx, NetState& state) {
    Ledger& ledger = ctx.ledger();
    std::vector<std::string> elements = ledger.values(kNftElement);
    if (!elements.empty()) {
      Nft nft;
      // One batch when everything is there; element by element when some are already gone.
      bool done = false;
      try {
        done = nft.run_if_exists(delete_elements(elements), "delete this container's elements");
      } catch (const Error& e) {
        ctx.log().warn("rollback: {}", e.what());
      }
      for (const auto& e : elements) {
        if (!done) {
          try {
            nft.run_if_exists(delete_elements({e}), "delete element");
          } catch (const Error& err) {
            ctx.log().error("rollback: {}", err.what());
            continue;
          }
        }
        ledger.forget(kNftElement, e);
      }
    }
    for (const auto& port : ledger.values(kPort)) {
      auto [proto, number] = split_pair(port);
      state.release_port(proto, static_cast<uint16_t>(std::stoul(number)), ctx.name());
      ledger.forget(kPort, port);
    }
    for (const auto& lease : ledger.values(kLease)) {
      auto [pool, address] = split_pair(lease);
      if (auto a = Ipv4::parse(address)) state.release(pool, *a, ctx.name());
      ledger.forget(kLease, lease);
    }
    for (const auto& bridge : ledger.values(kBridge)) {
      if (state.leases(bridge).empty() && !o_.keep_bridge) {
        remove_masquerade(ctx, state, bridge);
        remove_bridge(ctx, state, bridge);
      }
      ledger.forget(kBridge, bridge);
    }
    if (state.total_leases() == 0 && !o_.keep_bridge) remove_table(ctx, state);
  }

  void remove_masquerade(Context& ctx, NetState& state, const std::string& bridge) {
    auto marker = state.marker(masq_marker(bridge));
    if (!marker) return;
    std::vector<std::string> elements;
    std::istringstream in(*marker);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) elements.push_back(line);
    Nft nft;
    for (const auto& e : elements) {
      try {
        nft.run_if_exists(delete_elements({e}), "delete the masquerade of bridge '" + bridge + "'");
      } catch (const Error& err) {
        ctx.log().error("rollback: {}", err.what());
      }
    }
    state.clear_marker(masq_marker(bridge));
  }

  void remove_bridge(Context& ctx, NetState& state, const std::string& bridge) {
    auto marker = state.marker(bridge_marker(bridge));
    if (!marker) return;
    netlink::Socket sock = netlink::Socket::open();
    if (*marker == "created") {
      delete_link(sock.get(), bridge);
      ctx.log().debug("deleted bridge '{}'", bridge);
    } else if (marker->rfind("address ", 0) == 0) {
      if (auto link = find_link(sock.get(), bridge)) {
        std::istringstream words(marker->substr(8));
        for (std::string cidr; words >> cidr;) delete_address(sock.get(), link->ifindex, cidr);
      }
    }
    state.clear_marker(bridge_marker(bridge));
  }

  void remove_table(Context& ctx, NetState& state) {
    if (state.marker(kTableMarker)) {
      Nft nft;
      nft.run_if_exists(fmt::format("delete table inet {}\n", kNftTable),
                        "delete table inet modrt");
      state.clear_marker(kTableMarker);
      ctx.log().debug("deleted nft table inet {}", kNftTable);
    }
    if (state.marker(kForwardMarker)) {
      write_file(kIpForward, "0");
      state.clear_marker(kForwardMarker);
    }
  }

  NetOptions o_;
  // Carried from prepare to apply_host within one run (rollback never relies on them).
  netlink::Socket host_;
  std::string veth_;
  Ipv4 address_;
  int bridge_ifindex_ = 0;
  std::vector<std::string> elements_;  // this container's nft elements (nat.hpp)
  UniqueFd join_fd_;
};

std::unique_ptr<Stage> create(const ConfigNode& with, const Config& config) {
  return std::make_unique<NetStage>(parse_options(with, config));
}

const OptionDoc kOptions[] = {
    {"mode", "none | host | bridge (default) | join"},
    {"join", "mode join: netns path (/proc/PID/ns/net) or name of a netns in /run/netns"},
    {"bridge", "host bridge name, at most 15 bytes (default modrt0)"},
    {"subnet", "IPv4 network of the bridge (default 10.88.0.0/16)"},
    {"gateway", "gateway address on the bridge (default: first host of the subnet)"},
    {"ip", "static container address (default: allocated from the subnet)"},
    {"subnet6", "IPv6 network; the container gets subnet6 + its IPv4 host index"},
    {"interface", "interface name inside the container (default eth0)"},
    {"mtu", "MTU of the veth pair (default 1500)"},
    {"mac", "MAC address of the container interface (default: random)"},
    {"nat", "masquerade outbound traffic (default true)"},
    {"ports", "published ports: [\"8080:80/tcp\", \"5353:53/udp\"]"},
    {"dns", "{nameservers: [...], search: [...], options: [...]} -> /etc/resolv.conf"},
    {"hosts", "write /etc/hosts with the container's address and name (default true)"},
    {"keep_bridge", "leave bridge, masquerade and nft table for the next run (default false)"},
    {nullptr, nullptr}};

}  // namespace

}  // namespace modrt::net

MODRT_PLUGIN({.api_version = modrt::kPluginApiVersion,
              .name = "net",
              .version = "1.0",
              .description = "network: none, host, bridge + veth + IPAM + NAT + ports, or join",
              .options = modrt::net::kOptions,
              .create = &modrt::net::create});
