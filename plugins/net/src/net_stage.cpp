// The net stage: gives the workload its network (none / host / bridge / join) and takes it back.
//
//   prepare         host  check the host, lease the address, claim published ports, ensure the
//                         bridge, queue resolv.conf + hosts for the fs stage
//   apply_host      host  in parallel: this container's nft elements; the veth pair with its peer
//                         born in the workload's netns; then addresses, routes and lo inside it
//   apply_workload  child mode join only: setns into the given netns
//   rollback        host  from the ledger alone: veth, nft elements, ports, lease, then the bridge
//                         and the table when modrt made them and nobody uses them any more
//
// Every acquisition is recorded in the ledger before the step that makes it, so a modrt killed at
// any point leaves a ledger from which `modrt gc` undoes everything (an entry whose resource never
// came to be is simply found gone). The bridge, its masquerade element, table inet modrt and the
// ip_forward switch are shared by every run in the network namespace, whatever its state root:
// their bookkeeping (leases, port claims, "modrt made it" markers) lives in one directory per
// netns (ipam.hpp), so only the netns's last user removes them.
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include <netlink/socket.h>

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
#include "netns.hpp"
#include "options.hpp"
#include "ports.hpp"
#include "veth.hpp"

namespace modrt::net {

namespace {

namespace fs = std::filesystem;

// Ledger kinds. Every value is self-contained, so `modrt gc` can undo a run from the ledger alone.
constexpr const char* kShared = "net-state";    // "<netns state dir> <owner token>": recorded first
constexpr const char* kVeth = "veth";           // host end name
constexpr const char* kLease = "lease";         // "<pool> <address>"
constexpr const char* kPort = "port";           // "<proto> <host port>"
constexpr const char* kNftElement = "nft";      // "<set> <element>" (see nat.hpp)
constexpr const char* kBridge = "bridge";       // bridge name: consider removing it when unused
constexpr const char* kMasq = "masq";           // bridge name: this run added its masquerade
constexpr const char* kTable = "nft-table";     // "inet modrt": this run may create the table
constexpr const char* kForward = "ip-forward";  // "ipv4": this run switched forwarding on

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

// Marks this run's leases and port claims (container names repeat across state roots).
std::string random_token() {
  uint64_t value = 0;
  if (::getrandom(&value, sizeof value, 0) != static_cast<ssize_t>(sizeof value))
    throw_errno("getrandom");
  return fmt::format("{:016x}", value);
}

// Where a run's shared state is: from its ledger, or, for a ledger of a modrt before per-netns
// state, the state root's .net with no token.
struct SharedRef {
  std::string entry;  // the kShared ledger value, empty for the old layout
  fs::path dir;
  std::string token;
  std::optional<uint64_t> cookie;  // the netns it belongs to (nullopt: old layout, unknown)
  ino_t inode = 0;                 // that netns's inode number (0: unknown), to find it again
};

SharedRef shared_ref(const Context& ctx) {
  SharedRef ref;
  auto values = ctx.ledger().values(kShared);
  if (values.empty()) {
    ref.dir = ctx.state_root() / ".net";
    return ref;
  }
  ref.entry = values.front();
  auto [dir, rest] = split_pair(ref.entry);
  auto [token, inode] = split_pair(rest);
  ref.dir = dir;
  ref.token = token;
  std::from_chars(inode.data(), inode.data() + inode.size(), ref.inode);
  uint64_t cookie = 0;
  std::string name = ref.dir.filename().string();
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), cookie);
  if (ec == std::errc() && end == name.data() + name.size()) ref.cookie = cookie;
  return ref;
}

// Rollback's bookkeeping: each entry is undone on its own; what could not be undone stays in the
// ledger (for `modrt gc` to retry) and is named in the error thrown at the end.
class Undo {
 public:
  explicit Undo(Context& ctx) : ctx_(ctx) {}

  // Runs fn; forgets (kind, value) when it returns (undone, or found gone), keeps it when it
  // throws.
  template <typename Fn>
  bool attempt(const char* kind, const std::string& value, Fn&& fn) {
    try {
      std::forward<Fn>(fn)();
      ctx_.ledger().forget(kind, value);
      return true;
    } catch (const std::exception& e) {
      left_.push_back(fmt::format("{} '{}' ({})", kind, value, e.what()));
      ctx_.log().error("rollback: {} '{}': {}", kind, value, e.what());
      return false;
    }
  }
  // Every entry still in the ledger stays, for this reason.
  [[noreturn]] void give_up(const std::string& reason) {
    std::vector<std::string> all;
    for (const auto& entry : ctx_.ledger().entries())
      all.push_back(fmt::format("{} '{}'", entry.kind, entry.value));
    throw Error(fmt::format("{}; rollback kept all {} for `modrt gc` to retry: {}", reason,
                            count(all.size()), join(all)));
  }
  void finish() const {
    if (left_.empty()) return;
    throw Error(fmt::format("rollback could not undo {}, kept for `modrt gc` to retry: {}",
                            count(left_.size()), join(left_)));
  }

 private:
  static std::string count(size_t n) {
    return fmt::format("{} ledger entr{}", n, n == 1 ? "y" : "ies");
  }
  static std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : "; ") + item;
    return out;
  }

  Context& ctx_;
  std::vector<std::string> left_;
};

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
      firewall = std::async(std::launch::async, [this] { publish(shared_dir_); });
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
      // Recorded first, like every acquisition; the name carries a random suffix of this run, so
      // an EEXIST means someone else's interface, which must never be "undone": forgotten then.
      ctx.ledger().record(kVeth, veth_);
      try {
        create_veth(host_.get(), spec);
      } catch (const Error& e) {
        if (e.error_code() == EEXIST) ctx.ledger().forget(kVeth, veth_);
        throw;
      }
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

  // Works from the ledger and the `with:` options alone: `modrt gc` runs it on a fresh stage.
  void rollback(Context& ctx) override {
    Ledger& ledger = ctx.ledger();
    if (ledger.empty()) return;
    join_fd_.reset();
    host_ = netlink::Socket();
    Undo undo(ctx);
    SharedRef ref = shared_ref(ctx);
    netns_gone_ = false;
    // Links, the table and the forwarding switch exist only in the netns the run was in. From
    // another (`modrt gc` run elsewhere), undo inside that one, found again by its cookie; when
    // nothing can enter it any more, everything in it went (or will go) with it.
    if (ref.cookie) {
      std::optional<UniqueFd> netns;
      bool elsewhere = false;
      try {
        elsewhere = netns_cookie() != *ref.cookie;
        if (elsewhere) netns = find_netns(*ref.cookie, ref.inode);
      } catch (const std::exception& e) {
        undo.give_up(e.what());
      }
      if (netns) {
        ctx.log().info("undoing inside the run's network namespace (cookie {})", *ref.cookie);
        run_in_namespace(netns->get(), CLONE_NEWNET, [&] { undo_all(ctx, ref, undo); });
        undo.finish();
        return;
      }
      if (elsewhere) {
        ctx.log().warn(
            "the run's network namespace (cookie {}) is gone: its veth, bridge, table and "
            "forwarding went with it; releasing its leases, ports and markers",
            *ref.cookie);
        netns_gone_ = true;
      }
    }
    undo_all(ctx, ref, undo);
    undo.finish();
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

    // The bookkeeping of this netns, shared with every other modrt using it, whatever its state
    // root. Recorded before anything else: rollback (gc too) finds everything else through it.
    // (The route socket this run needs anyway tells the netns: no socket of its own to make.)
    host_ = netlink::Socket::open();
    shared_dir_ = netns_state_dir(socket_netns_cookie(nl_socket_get_fd(host_.get())));
    std::string token = random_token();
    ledger.record(kShared, fmt::format("{} {} {}", shared_dir_.string(), token, netns_inode()));
    NetState state(shared_dir_);
    veth_ = host_veth_name(ctx.name());

    auto lease_entry = [&](Ipv4 address) { return fmt::format("{} {}", o_.bridge, address.str()); };
    Lease owner{.address = {},
                .container = ctx.name(),
                .pid = ::getpid(),
                .start_time = process_start_time(::getpid()),
                .veth = veth_,
                .owner = token};
    if (o_.ip) {
      ledger.record(kLease, lease_entry(*o_.ip));
      owner.address = *o_.ip;
      state.claim(o_.bridge, owner);
      address_ = *o_.ip;
    } else {
      address_ = state.allocate(o_.bridge, o_.subnet, o_.gateway, owner,
                                [&](Ipv4 a) { ledger.record(kLease, lease_entry(a)); });
    }

    for (const auto& port : o_.ports) {
      ledger.record(kPort, fmt::format("{} {}", port.proto, port.host_port));
      state.claim_port(port.proto, port.host_port, ctx.name(), address_, token);
    }

    ledger.record(kBridge, o_.bridge);
    std::string bmarker = bridge_marker(o_.bridge);
    bool known = state.marker(bmarker).has_value();
    bool marked = false;
    // The marker says what modrt did to the bridge; written before the change (a crash right
    // after it leaves a marker whose undo finds nothing to do), dropped when the change did not
    // happen.
    BridgeResult bridge = ensure_bridge(
        host_.get(), o_.bridge, o_.subnet, o_.gateway, o_.subnet6, known, [&](BridgeChange change) {
          if (change == BridgeChange::created) {
            state.set_marker(bmarker, "created");
            marked = true;
          } else if (change == BridgeChange::address_added) {
            std::string what = fmt::format("address {}/{}", o_.gateway.str(), o_.subnet.prefix);
            if (o_.subnet6)
              what += fmt::format(" {}/{}", o_.subnet6->host(1).str(), o_.subnet6->prefix);
            state.set_marker(bmarker, what);
            marked = true;
          } else if (marked) {
            state.clear_marker(bmarker);
            marked = false;
          }
        });
    bridge_ifindex_ = bridge.ifindex;

    if (!o_.nat) {
      elements_.push_back(nonat_element(address_));
      if (o_.subnet6) elements_.push_back(nonat6_element(address6()));
    }
    for (const auto& port : o_.ports) elements_.push_back(port_element(port, address_));
    // Recorded now, added in apply_host (beside the veth); rollback tolerates their absence.
    for (const auto& e : elements_) ledger.record(kNftElement, e);

    std::string masq = masq_marker(o_.bridge);
    bool add_masq = o_.nat && !state.marker(masq);
    // The table may be created here or on apply_host's thread (which must not touch the ledger):
    // recorded now, on this thread, whenever this run may be the one to create it.
    if ((add_masq || !elements_.empty()) && !state.marker(kTableMarker))
      ledger.record(kTable, fmt::format("inet {}", kNftTable));
    if (add_masq) {
      // The first user of this bridge that wants NAT: the subnet's masquerade element (and the
      // table, if this is the first of all). Once per bridge lifetime, like the bridge itself.
      std::vector<std::string> subnet{masq_element(o_.subnet)};
      if (o_.subnet6) subnet.push_back(masq6_element(*o_.subnet6));
      ledger.record(kMasq, o_.bridge);
      state.set_marker(masq, join_lines(subnet));
      add_to_table(state, subnet);
    }
    if (o_.nat || !o_.ports.empty()) {
      std::string value = read_file(kIpForward);
      if (value.empty() || value[0] != '1') {
        // Switched on by modrt, so switched off by the netns's last user: marker first.
        ledger.record(kForward, "ipv4");
        state.set_marker(kForwardMarker, "1");
        write_file(kIpForward, "1");
      }
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
  // The marker is written before the table is created (a crash in between leaves a marker whose
  // undo finds no table) and dropped again when the table turns out to be someone else's.
  static void add_to_table(NetState& state, const std::vector<std::string>& elements) {
    Nft nft;
    std::string add = add_elements(elements);
    if (!state.marker(kTableMarker)) {
      state.set_marker(kTableMarker, "created");
      try {
        nft.run(table_commands() + add, "create table inet modrt");
      } catch (const Error&) {
        // The table is there already, made by hand or by a modrt of another netns state (an older
        // modrt kept it per state root): use it, and leave its removal to whoever made it.
        state.clear_marker(kTableMarker);
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
    if (netns_gone_) return;  // it went with the netns; a link of that name here is not ours
    netlink::Socket sock = netlink::Socket::open();
    if (!find_link(sock.get(), veth)) return;
    // A veth dies with the netns of its peer; the kernel tears a netns down shortly after its
    // last process exits (cleanup_net, after an RCU grace period: 15-30 ms here). With a pid
    // namespace of its own, nothing but the workload's processes can hold that netns (modrt never
    // bind-mounts it), and they all died with it: the veth is on its way out, and waiting would
    // only slow the exit down. Without one, a process the workload left behind may keep the netns
    // (and the veth, and the address) alive: wait a little for the teardown, then delete the veth
    // ourselves.
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

  // Every entry, each on its own (Undo), in the netns the run used (the calling thread's).
  void undo_all(Context& ctx, const SharedRef& ref, Undo& undo) {
    Ledger& ledger = ctx.ledger();
    for (const auto& veth : ledger.values(kVeth))
      undo.attempt(kVeth, veth, [&] { remove_veth(ctx, veth); });
    if (ledger.entries().size() > (ref.entry.empty() ? 0u : 1u)) {
      std::optional<NetState> state;
      try {
        state.emplace(ref.dir);
      } catch (const std::exception& e) {
        undo.give_up(e.what());
      }
      release_shared(ctx, *state, ref.token, undo);
      // The last entry: the netns's state dir goes with its last user (when nothing else is in
      // it).
      if (!ref.entry.empty() && ledger.entries().size() == 1)
        undo.attempt(kShared, ref.entry, [&] { state->remove_if_unused(); });
    } else if (!ref.entry.empty()) {
      undo.attempt(kShared, ref.entry, [&] {
        NetState state(ref.dir);
        state.remove_if_unused();
      });
    }
  }

  // Everything of this run in the netns's shared state, each ledger entry on its own (Undo).
  void release_shared(Context& ctx, NetState& state, const std::string& token, Undo& undo) {
    Ledger& ledger = ctx.ledger();
    std::vector<std::string> elements = ledger.values(kNftElement);
    if (!elements.empty() && netns_gone_) {
      for (const auto& e : elements) undo.attempt(kNftElement, e, [] {});
    } else if (!elements.empty()) {
      std::optional<Nft> nft;
      auto get_nft = [&]() -> Nft& {
        if (!nft) nft.emplace();
        return *nft;
      };
      // One batch when everything is there; element by element when some are already gone.
      bool done = false;
      try {
        done =
            get_nft().run_if_exists(delete_elements(elements), "delete this container's elements");
      } catch (const Error& e) {
        ctx.log().warn("rollback: {}", e.what());
      }
      for (const auto& e : elements)
        undo.attempt(kNftElement, e, [&] {
          if (!done) get_nft().run_if_exists(delete_elements({e}), "delete element");
        });
    }
    for (const auto& port : ledger.values(kPort))
      undo.attempt(kPort, port, [&] {
        auto [proto, number] = split_pair(port);
        uint16_t host_port = 0;
        auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), host_port);
        if (ec != std::errc() || end != number.data() + number.size())
          throw Error(fmt::format("malformed port entry '{}'", port));
        state.release_port(proto, host_port, ctx.name(), token);
      });
    for (const auto& lease : ledger.values(kLease))
      undo.attempt(kLease, lease, [&] {
        auto [pool, address] = split_pair(lease);
        auto a = Ipv4::parse(address);
        if (!a) throw Error(fmt::format("malformed lease entry '{}'", lease));
        state.release(pool, *a, ctx.name(), token);
      });

    // Shared objects: removed by whoever leaves them unused (any run's rollback, whether it made
    // them or not: the markers say what modrt made); a run's own entries just say it was
    // involved.
    for (const auto& bridge : ledger.values(kMasq))
      undo.attempt(kMasq, bridge, [&] {
        if (bridge_unused(state, bridge)) remove_masquerade(state, bridge);
      });
    for (const auto& bridge : ledger.values(kBridge))
      undo.attempt(kBridge, bridge, [&] {
        if (!bridge_unused(state, bridge)) return;
        // Each part is tried even when another failed; the first failure is reported.
        std::exception_ptr failed;
        for (auto step : {&NetStage::remove_bridge, &NetStage::remove_masquerade}) {
          try {
            (this->*step)(state, bridge);
          } catch (...) {
            if (!failed) failed = std::current_exception();
          }
        }
        if (netns_unused(state)) {
          for (auto step : {&NetStage::remove_table, &NetStage::remove_forwarding}) {
            try {
              (this->*step)(state);
            } catch (...) {
              if (!failed) failed = std::current_exception();
            }
          }
        }
        if (failed) std::rethrow_exception(failed);
      });
    for (const auto& table : ledger.values(kTable))
      undo.attempt(kTable, table, [&] {
        if (netns_unused(state)) remove_table(state);
      });
    for (const auto& forward : ledger.values(kForward))
      undo.attempt(kForward, forward, [&] {
        if (netns_unused(state)) remove_forwarding(state);
      });
  }

  bool bridge_unused(const NetState& state, const std::string& bridge) const {
    return !o_.keep_bridge && state.leases(bridge).empty();
  }
  bool netns_unused(const NetState& state) const {
    return !o_.keep_bridge && state.total_leases() == 0;
  }

  // The bridge's masquerade elements, per its marker. The marker keeps the elements that could
  // not be deleted, so a retry knows what is left.
  void remove_masquerade(NetState& state, const std::string& bridge) {
    auto marker = state.marker(masq_marker(bridge));
    if (!marker) return;
    if (netns_gone_) return state.clear_marker(masq_marker(bridge));
    std::vector<std::string> elements, left;
    std::istringstream in(*marker);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) elements.push_back(line);
    std::string error;
    Nft nft;
    for (const auto& e : elements) {
      try {
        nft.run_if_exists(delete_elements({e}), "delete the masquerade of bridge '" + bridge + "'");
      } catch (const Error& err) {
        left.push_back(e);
        if (error.empty()) error = err.what();
      }
    }
    if (!left.empty()) {
      state.set_marker(masq_marker(bridge), join_lines(left));
      throw Error(error);
    }
    state.clear_marker(masq_marker(bridge));
  }

  void remove_bridge(NetState& state, const std::string& bridge) {
    auto marker = state.marker(bridge_marker(bridge));
    if (!marker) return;
    if (netns_gone_) return state.clear_marker(bridge_marker(bridge));
    netlink::Socket sock = netlink::Socket::open();
    if (*marker == "created") {
      delete_link(sock.get(), bridge);
    } else if (marker->rfind("address ", 0) == 0) {
      if (auto link = find_link(sock.get(), bridge)) {
        std::istringstream words(marker->substr(8));
        for (std::string cidr; words >> cidr;) delete_address(sock.get(), link->ifindex, cidr);
      }
    }
    state.clear_marker(bridge_marker(bridge));
  }

  void remove_table(NetState& state) {
    if (!state.marker(kTableMarker)) return;
    if (netns_gone_) return state.clear_marker(kTableMarker);
    Nft nft;
    nft.run_if_exists(fmt::format("delete table inet {}\n", kNftTable), "delete table inet modrt");
    state.clear_marker(kTableMarker);
  }

  void remove_forwarding(NetState& state) {
    if (!state.marker(kForwardMarker)) return;
    // Never this process's own netns's switch when the run's netns is gone.
    if (!netns_gone_) write_file(kIpForward, "0");
    state.clear_marker(kForwardMarker);
  }

  NetOptions o_;
  // Carried from prepare to apply_host within one run (rollback never relies on them).
  fs::path shared_dir_;
  netlink::Socket host_;
  std::string veth_;
  Ipv4 address_;
  int bridge_ifindex_ = 0;
  std::vector<std::string> elements_;  // this container's nft elements (nat.hpp)
  UniqueFd join_fd_;
  // Set by rollback for its own duration: the run's netns cannot be entered any more, so nothing
  // in it is touched (only the shared state's records are released).
  bool netns_gone_ = false;
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
