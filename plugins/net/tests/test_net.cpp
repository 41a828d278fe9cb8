// The net stage against real netlink and nftables. Every test makes a throwaway network namespace
// that plays "the host" and runs modrt inside it (ip netns exec): the bridge, the nft table and the
// veths live there, and traffic only goes to addresses inside namespaces the test made. After each
// test, that "host" must hold nothing of modrt's: no link but lo, no nft ruleset, no lease, and no
// state directory of its netns (/run/modrt-net/<cookie>).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "modrt/fd.hpp"
#include "modrt_test.hpp"

namespace modrt::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

class NetTest : public NetnsHostTest {
 protected:
  void TearDown() override {
    EXPECT_EQ(leases(), 0u) << "IPAM leases left under " << net_dir();
    // Nothing of net's is kept under the state root: its state is per netns.
    EXPECT_FALSE(fs::exists(modrt.state_root() / ".net"));
    NetnsHostTest::TearDown();
  }

  size_t leases() const {
    size_t n = 0;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(net_dir() / "pools", ec), end; !ec && it != end;
         it.increment(ec))
      if (it->is_regular_file() && it->path().filename() != "next") ++n;
    return n;
  }

  std::vector<std::string> links() const { return host_links(); }

  // modrt run inside the test's host netns.
  std::vector<std::string> modrt_argv(const std::string& config,
                                      const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> args{"run", "-c", config};
    args.insert(args.end(), extra.begin(), extra.end());
    return host_argv(modrt.argv(args));
  }
  Result run_modrt(const std::string& config, const std::vector<std::string>& extra = {}) const {
    return run(modrt_argv(config, extra), 120s);
  }

  // A config of one net stage (and optional further stages), running a host binary.
  std::string config(const std::string& name, const std::string& net_with,
                     const std::vector<std::string>& args, const std::string& more_stages = "") {
    std::string yaml = "name: " + name + "\nprocess:\n  args: [";
    for (size_t i = 0; i < args.size(); ++i) yaml += (i ? ", " : "") + quote(args[i]);
    yaml += "]\nstages:\n  - plugin: net\n    with: " + net_with + "\n" + more_stages;
    return dir.write(name + ".yaml", yaml);
  }
  static std::string quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
  }
  std::string bridge_with(const std::string& extra = "") const {
    return "{bridge: " + bridge_ + ", subnet: 10.123.0.0/24" + (extra.empty() ? "" : ", " + extra) +
           "}";
  }

  // A workload that waits until `go` exists.
  static std::vector<std::string> wait_for(const fs::path& go) {
    return {"/bin/busybox", "sh", "-c",
            "while [ ! -e " + go.string() + " ]; do busybox sleep 0.05; done"};
  }
  std::string ip_forward() const { return in_host({"cat", "/proc/sys/net/ipv4/ip_forward"}).out; }
  // Run dirs (not dot-named plugin data) left in a state root.
  static std::vector<std::string> state_dirs(const fs::path& root) {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
      if (it->path().filename().string().front() != '.')
        out.push_back(it->path().filename().string());
    return out;
  }
};

TEST_F(NetTest, BridgeContainerGetsItsAddressAndReachesTheGateway) {
  std::string cfg = config(
      unique_name("gw"),
      bridge_with("ip: 10.123.0.7, mtu: 1400, mac: '02:00:0a:7b:00:07', interface: net0"),
      {"/bin/busybox", "sh", "-c",
       "busybox ip -4 -o addr show dev net0; busybox ip -o link show net0; busybox ip route; "
       "busybox ip -o link show lo; busybox ping -c 1 -W 5 10.123.0.1"});
  Result r = run_modrt(cfg);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("inet 10.123.0.7/24"));
  EXPECT_THAT(r.out, HasSubstr("mtu 1400"));
  EXPECT_THAT(r.out, HasSubstr("link/ether 02:00:0a:7b:00:07"));
  EXPECT_THAT(r.out, HasSubstr("default via 10.123.0.1 dev net0"));
  EXPECT_THAT(r.out, HasSubstr("LOOPBACK,UP"));
  EXPECT_THAT(r.out, HasSubstr("1 packets received"));
}

TEST_F(NetTest, Subnet6GivesTheTwinIpv6AddressAndRoute) {
  std::string cfg =
      config(unique_name("v6"), bridge_with("ip: 10.123.0.8, subnet6: 'fd00:123::/64'"),
             {"/bin/busybox", "sh", "-c",
              "busybox ip -6 -o addr show dev eth0; busybox ip -6 route; "
              "busybox ping -6 -c 1 -W 5 fd00:123::1"});
  Result r = run_modrt(cfg);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("inet6 fd00:123::8/64"));
  EXPECT_THAT(r.out, HasSubstr("default via fd00:123::1 dev eth0"));
  EXPECT_THAT(r.out, HasSubstr("1 packets received"));
}

TEST_F(NetTest, TwoContainersOnOneBridgePingEachOther) {
  fs::path go = dir / "go";
  // a waits until b has pinged it, then pings b back: both directions, both alive at once.
  std::string a = config(unique_name("a"), bridge_with("ip: 10.123.0.10"),
                         {"/bin/busybox", "sh", "-c",
                          "while [ ! -e " + go.string() +
                              " ]; do busybox sleep 0.05; done; "
                              "busybox ping -c 1 -W 5 10.123.0.11"});
  std::string b = config(unique_name("b"), bridge_with("ip: 10.123.0.11"),
                         {"/bin/busybox", "sh", "-c",
                          "for i in $(busybox seq 50); do busybox ping -c 1 -W 1 10.123.0.10 && "
                          "touch " +
                              go.string() + " && busybox sleep 3 && exit 0; done; exit 1"});
  Background first(modrt_argv(a));
  Result second = run_modrt(b);
  Result first_result = first.wait(60s);
  EXPECT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_EQ(first_result.exit_code, 0) << first_result.out << first_result.err;
  EXPECT_THAT(second.out, HasSubstr("1 packets received"));
  EXPECT_THAT(first_result.out, HasSubstr("1 packets received"));
}

TEST_F(NetTest, PublishedPortServesHttpToAClientNetns) {
  TempDir www;
  www.write("index.html", "hello from modrt\n");
  // A client netns wired to the test's host by a veth of the test's own.
  std::string client = unique_name("mrc");
  std::string wire = unique_name("mrw");
  ASSERT_EQ(run({"ip", "netns", "add", client}).exit_code, 0);
  auto cleanup = std::shared_ptr<void>(nullptr, [&](void*) {
    run({"ip", "netns", "del", client});
  });
  ASSERT_EQ(
      in_host({"ip", "link", "add", wire, "type", "veth", "peer", "name", "eth0", "netns", client})
          .exit_code,
      0);
  in_host({"ip", "addr", "add", "198.18.0.1/24", "dev", wire});
  in_host({"ip", "link", "set", wire, "up"});
  run({"ip", "netns", "exec", client, "ip", "addr", "add", "198.18.0.2/24", "dev", "eth0"});
  run({"ip", "netns", "exec", client, "ip", "link", "set", "eth0", "up"});

  std::string cfg = config(unique_name("web"), bridge_with("ports: ['8080:80/tcp']"),
                           {"/bin/busybox", "httpd", "-f", "-p", "80", "-h", www.path().string()});
  Background server(modrt_argv(cfg));
  std::string body;
  bool served = wait_until(
      [&] {
        // No wget -T: busybox 1.35's wget crashes with it; busybox timeout bounds the wait instead.
        Result get = run({"ip", "netns", "exec", client, "busybox", "timeout", "3", "busybox",
                          "wget", "-q", "-O", "-", "http://198.18.0.1:8080/"},
                         10s);
        body = get.out;
        return get.exit_code == 0;
      },
      30s);
  EXPECT_TRUE(served);
  EXPECT_EQ(body, "hello from modrt\n");
  // From the host itself, to one of its own addresses (the output hook).
  Result local = in_host(
      {"busybox", "timeout", "3", "busybox", "wget", "-q", "-O", "-", "http://198.18.0.1:8080/"},
      10s);
  EXPECT_EQ(local.out, "hello from modrt\n") << local.err;
  Result ruleset = in_host({"nft", "list", "table", "inet", "modrt"});
  EXPECT_THAT(ruleset.out, HasSubstr("tcp . 8080 : 10.123.0.2 . 80"));

  server.signal(SIGTERM);
  Result end = server.wait(30s);
  EXPECT_NE(end.exit_code, 125) << end.err;
  in_host({"ip", "link", "del", wire});
}

// Outbound NAT: the "outside" client netns has no route back to the container subnet, so only a
// masqueraded request (source = the host's address) gets its answer; with nat: false it cannot.
TEST_F(NetTest, OutboundTrafficIsMasqueradedUnlessNatIsOff) {
  TempDir www;
  www.write("index.html", "outside\n");
  std::string outside = unique_name("mro");
  std::string wire = unique_name("mrw");
  ASSERT_EQ(run({"ip", "netns", "add", outside}).exit_code, 0);
  auto cleanup = std::shared_ptr<void>(nullptr, [&](void*) {
    run({"ip", "netns", "del", outside});
  });
  ASSERT_EQ(
      in_host({"ip", "link", "add", wire, "type", "veth", "peer", "name", "eth0", "netns", outside})
          .exit_code,
      0);
  in_host({"ip", "addr", "add", "198.18.1.1/24", "dev", wire});
  in_host({"ip", "link", "set", wire, "up"});
  run({"ip", "netns", "exec", outside, "ip", "addr", "add", "198.18.1.2/24", "dev", "eth0"});
  run({"ip", "netns", "exec", outside, "ip", "link", "set", "eth0", "up"});
  run({"ip", "netns", "exec", outside, "ip", "link", "set", "lo", "up"});
  Background server({"ip", "netns", "exec", outside, "busybox", "httpd", "-f", "-p", "80", "-h",
                     www.path().string()});
  ASSERT_TRUE(wait_until([&] {
    return run({"ip", "netns", "exec", outside, "busybox", "timeout", "3", "busybox", "wget", "-q",
                "-O", "-", "http://198.18.1.2/"},
               10s)
               .out == "outside\n";
  }));

  std::vector<std::string> get{"/bin/busybox", "sh", "-c",
                               "busybox timeout 3 busybox wget -q -O - http://198.18.1.2/"};
  Result nat = run_modrt(config(unique_name("nat"), bridge_with(), get));
  EXPECT_EQ(nat.exit_code, 0) << nat.err;
  EXPECT_EQ(nat.out, "outside\n");
  Result plain = run_modrt(config(unique_name("nonat"), bridge_with("nat: false"), get));
  EXPECT_NE(plain.exit_code, 0) << plain.out;
  EXPECT_EQ(plain.out, "");
  in_host({"ip", "link", "del", wire});
}

TEST_F(NetTest, KeepBridgeLeavesBridgeAndTableUntilARunWithoutIt) {
  Result kept =
      run_modrt(config(unique_name("keep"), bridge_with("keep_bridge: true"), {"/bin/true"}));
  ASSERT_EQ(kept.exit_code, 0) << kept.err;
  EXPECT_TRUE(wait_until(
      [&] {
        return links() == std::vector<std::string>{"lo", bridge_};
      },
      5s))
      << in_host({"ip", "link"}).out;
  EXPECT_THAT(in_host({"nft", "list", "set", "inet", "modrt", "masq4"}).out,
              HasSubstr("10.123.0.0/24"));
  EXPECT_EQ(leases(), 0u);
  // The next run finds the bridge modrt made; without keep_bridge, its end removes everything.
  Result last = run_modrt(config(unique_name("last"), bridge_with(), {"/bin/true"}));
  EXPECT_EQ(last.exit_code, 0) << last.err;
  // TearDown: only lo, no ruleset.
}

TEST_F(NetTest, FiftyConcurrentContainersGetFiftyAddresses) {
  constexpr int kCount = 50;
  fs::path out_dir = dir / "addresses";
  fs::create_directories(out_dir);
  fs::path go = dir / "go";
  std::vector<std::unique_ptr<Background>> runs;
  for (int i = 0; i < kCount; ++i) {
    std::string name = "c" + std::to_string(i) + "-" + unique_name("x");
    std::string cfg =
        config(name, bridge_with(),
               {"/bin/busybox", "sh", "-c",
                "busybox ip -4 -o addr show dev eth0 > " + (out_dir / name).string() +
                    "; while [ ! -e " + go.string() + " ]; do busybox sleep 0.1; done"});
    runs.push_back(std::make_unique<Background>(modrt_argv(cfg)));
  }
  auto written = [&] {
    size_t n = 0;
    for (const auto& entry : fs::directory_iterator(out_dir))
      if (entry.file_size() > 0) ++n;
    return n;
  };
  EXPECT_TRUE(wait_until([&] { return written() == kCount; }, 120s)) << written() << " started";
  // Every container holds its lease at the same time.
  EXPECT_EQ(leases(), static_cast<size_t>(kCount));
  std::ofstream(go.string()) << "go\n";
  std::set<std::string> addresses;
  for (auto& run : runs) {
    Result r = run->wait(120s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  for (const auto& entry : fs::directory_iterator(out_dir)) {
    std::ifstream in(entry.path());
    std::string line;
    std::getline(in, line);
    auto at = line.find("inet ");
    ASSERT_NE(at, std::string::npos) << line;
    addresses.insert(line.substr(at + 5, line.find('/', at) - at - 5));
  }
  EXPECT_EQ(addresses.size(), static_cast<size_t>(kCount));
  EXPECT_EQ(leases(), 0u);
}

// The shape of configs/web.yaml: ns + fs (busybox rootfs) + net, httpd serving the rootfs's /www.
// init: true puts the core's reaper at PID 1, so SIGTERM reaches httpd (PID 1 would ignore it).
std::string web_stages(const std::string& net_with) {
  return "  - plugin: ns\n"
         "    with: {namespaces: [user, pid, mount, uts, ipc, net, cgroup], init: true,\n"
         "           uid_map: [{container: 0, host: 100000, size: 65536}],\n"
         "           gid_map: [{container: 0, host: 100000, size: 65536}]}\n"
         "  - plugin: fs\n"
         "    with: {rootfs: " +
         busybox_rootfs() +
         ", overlay: {}}\n"
         "  - plugin: net\n"
         "    with: " +
         net_with + "\n";
}

TEST_F(NetTest, WebConfigServesHttpdFromTheRootfsOnAPublishedPort) {
  std::string name = unique_name("web");
  std::string yaml =
      "name: " + name +
      "\nhostname: web\nprocess:\n  args: [/bin/busybox, httpd, -f, -p, '80', -h, /www]\n"
      "stages:\n" +
      web_stages(bridge_with("ports: ['8080:80/tcp']"));
  Background server(modrt_argv(dir.write(name + ".yaml", yaml)));
  // The gateway is one of the host's own addresses: the output hook's DNAT applies.
  std::string body;
  bool served = wait_until(
      [&] {
        Result get = in_host({"busybox", "timeout", "3", "busybox", "wget", "-q", "-O", "-",
                              "http://10.123.0.1:8080/"},
                             10s);
        body = get.out;
        return get.exit_code == 0;
      },
      30s);
  EXPECT_TRUE(served);
  EXPECT_EQ(body, "<h1>hello from modrt</h1>\n");
  // configs/web.yaml's promise: the host reaches the published port on 127.0.0.1 too.
  in_host({"ip", "link", "set", "lo", "up"});
  Result loopback = in_host(
      {"busybox", "timeout", "3", "busybox", "wget", "-q", "-O", "-", "http://127.0.0.1:8080/"},
      10s);
  EXPECT_EQ(loopback.out, "<h1>hello from modrt</h1>\n") << loopback.err;
  server.signal(SIGTERM);
  Result end = server.wait(30s);
  EXPECT_NE(end.exit_code, 125) << end.err;
}

TEST_F(NetTest, ResolvConfAndHostsReachTheContainerThroughTheFsStage) {
  std::string name = unique_name("dns");
  std::string yaml =
      "name: " + name +
      "\nhostname: box\nprocess:\n  args: [/bin/sh, -c, 'cat /etc/resolv.conf /etc/hosts']\n"
      "stages:\n" +
      web_stages(
          bridge_with("ip: 10.123.0.9, dns: {nameservers: [192.0.2.53], search: [example.test]}"));
  Result r = run_modrt(dir.write(name + ".yaml", yaml));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("nameserver 192.0.2.53\n"));
  EXPECT_THAT(r.out, HasSubstr("search example.test\n"));
  EXPECT_THAT(r.out, HasSubstr("10.123.0.9\tbox " + name + "\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("nameserver 127.0.0.1")));
}

TEST_F(NetTest, ModeNoneHasOnlyLoopbackUp) {
  std::string cfg =
      config(unique_name("none"), "{mode: none}",
             {"/bin/busybox", "sh", "-c", "busybox ip -o link; busybox ping -c 1 -W 2 127.0.0.1"});
  Result r = run_modrt(cfg);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto link_lines = lines(r.out.substr(0, r.out.find("PING")));
  ASSERT_EQ(link_lines.size(), 1u) << r.out;
  EXPECT_THAT(link_lines[0], HasSubstr("lo: <LOOPBACK,UP"));
}

TEST_F(NetTest, ModeHostSharesTheNetnsModrtRunsIn) {
  std::string marker = unique_name("mrd");
  ASSERT_EQ(in_host({"ip", "link", "add", marker, "type", "veth", "peer", "name", marker + "p"})
                .exit_code,
            0);
  std::string cfg =
      config(unique_name("host"), "{mode: host}", {"/bin/busybox", "ip", "-o", "link"});
  Result r = run_modrt(cfg);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(marker));
  in_host({"ip", "link", "del", marker});
}

TEST_F(NetTest, ModeJoinEntersANamedNetns) {
  std::string marker = unique_name("mrd");
  ASSERT_EQ(in_host({"ip", "link", "add", marker, "type", "veth", "peer", "name", marker + "p"})
                .exit_code,
            0);
  // modrt itself runs in this machine's netns; only the workload joins the test's.
  std::string cfg = config(unique_name("join"), "{join: " + host_ns() + "}",
                           {"/bin/busybox", "ip", "-o", "link"});
  Result r = modrt.run({"run", "-c", cfg});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(marker));
  in_host({"ip", "link", "del", marker});
}

TEST_F(NetTest, ModeJoinRefusesSomethingThatIsNotANetns) {
  std::string cfg = config(unique_name("join"), "{join: /proc/self/ns/uts}", {"/bin/true"});
  Result r = modrt.run({"run", "-c", cfg});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_THAT(r.err, HasSubstr("'/proc/self/ns/uts' is not a network namespace"));
}

// --- failures: clear errors, nothing created
// ------------------------------------------------------

TEST_F(NetTest, SubnetOverlappingAHostRouteIsRefused) {
  std::string other = unique_name("mrd");
  ASSERT_EQ(
      in_host({"ip", "link", "add", other, "type", "veth", "peer", "name", other + "p"}).exit_code,
      0);
  in_host({"ip", "addr", "add", "10.123.0.129/25", "dev", other});
  in_host({"ip", "link", "set", other, "up"});
  in_host({"ip", "link", "set", other + "p", "up"});
  Result r = run_modrt(config(unique_name("ovl"), bridge_with(), {"/bin/true"}));
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_THAT(r.err, HasSubstr("subnet 10.123.0.0/24 overlaps the host route 10.123.0.128/25 dev " +
                               other));
  EXPECT_THAT(links(), Not(::testing::Contains(bridge_)));
  in_host({"ip", "link", "del", other});
}

TEST_F(NetTest, BadStaticAddressAndLongBridgeNameFailValidation) {
  Result outside =
      run_modrt(config(unique_name("ip"), bridge_with("ip: 10.124.0.5"), {"/bin/true"}));
  EXPECT_EQ(outside.exit_code, 2);
  EXPECT_THAT(outside.err, HasSubstr("stages[0].with.ip: address 10.124.0.5 is outside subnet"));
  Result longname =
      run_modrt(config(unique_name("br"), "{bridge: modrt-bridge-0123456789}", {"/bin/true"}));
  EXPECT_EQ(longname.exit_code, 2);
  EXPECT_THAT(longname.err, HasSubstr("interface names are at most 15"));
  EXPECT_EQ(links(), std::vector<std::string>{"lo"});
}

TEST_F(NetTest, StaticAddressTakenByARunningContainerIsRefused) {
  fs::path go = dir / "go";
  std::string a = config(unique_name("a"), bridge_with("ip: 10.123.0.20"),
                         {"/bin/busybox", "sh", "-c",
                          "while [ ! -e " + go.string() + " ]; do busybox sleep 0.05; done"});
  Background first(modrt_argv(a));
  ASSERT_TRUE(wait_until([&] { return leases() == 1; }, 30s));
  Result second =
      run_modrt(config(unique_name("b"), bridge_with("ip: 10.123.0.20"), {"/bin/true"}));
  EXPECT_EQ(second.exit_code, 125);
  EXPECT_THAT(second.err, HasSubstr("address 10.123.0.20 is taken by container"));
  std::ofstream(go.string()) << "go\n";
  EXPECT_EQ(first.wait(60s).exit_code, 0);
}

TEST_F(NetTest, PortPublishedByAnotherContainerIsRefused) {
  fs::path go = dir / "go";
  std::string a = config(unique_name("a"), bridge_with("ports: ['8081:80']"),
                         {"/bin/busybox", "sh", "-c",
                          "while [ ! -e " + go.string() + " ]; do busybox sleep 0.05; done"});
  Background first(modrt_argv(a));
  ASSERT_TRUE(wait_until([&] { return leases() == 1; }, 30s));
  Result second =
      run_modrt(config(unique_name("b"), bridge_with("ports: ['8081:81']"), {"/bin/true"}));
  EXPECT_EQ(second.exit_code, 125);
  EXPECT_THAT(second.err, HasSubstr("host port 8081/tcp is already published by container"));
  std::ofstream(go.string()) << "go\n";
  EXPECT_EQ(first.wait(60s).exit_code, 0);
}

TEST_F(NetTest, PortHeldByAHostProcessIsRefused) {
  Background listener(host_argv({"busybox", "nc", "-l", "-p", "8082"}));
  ASSERT_TRUE(wait_until([&] {
    return in_host({"busybox", "sh", "-c", "busybox netstat -ltn | busybox grep -q ':8082 '"})
               .exit_code == 0;
  }));
  Result r = run_modrt(config(unique_name("p"), bridge_with("ports: ['8082:80']"), {"/bin/true"}));
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_THAT(r.err, HasSubstr("host port 8082/tcp is in use by a process on the host"));
  EXPECT_EQ(links(), std::vector<std::string>{"lo"});
}

// --- the host's shared objects belong to everyone in the netns, not to one state root ----------

// Issue 11 item 6: root A's last container deleted table inet modrt (and the bridge) while root B's
// containers ran. The bookkeeping is per netns now: the first to leave keeps its hands off.
TEST_F(NetTest, TwoStateRootsShareTheBridgeAndTableUntilTheNetnsLastUserLeaves) {
  Modrt other;  // a second private state root, as a second user or `--root` on one host would be
  std::string forward_before = ip_forward();
  fs::path go_a = dir / "go-a";
  fs::path go_b = dir / "go-b";
  Background first(
      modrt_argv(config(unique_name("a"), bridge_with("ports: ['8086:80']"), wait_for(go_a))));
  ASSERT_TRUE(wait_until([&] { return links().size() == 3; }, 30s)) << in_host({"ip", "link"}).out;
  std::string b = config(unique_name("b"), bridge_with("ports: ['8087:80']"), wait_for(go_b));
  Background second(host_argv(other.argv({"run", "-c", b})));
  ASSERT_TRUE(wait_until(
      [&] {
        return in_host({"nft", "list", "map", "inet", "modrt", "ports4"}).out.find("8087") !=
               std::string::npos;
      },
      30s));
  EXPECT_EQ(leases(), 2u);  // one directory holds both roots' leases
  EXPECT_FALSE(fs::exists(modrt.state_root() / ".net"));
  EXPECT_FALSE(fs::exists(other.state_root() / ".net"));

  std::ofstream(go_a.string()) << "go\n";
  Result a_end = first.wait(60s);
  EXPECT_EQ(a_end.exit_code, 0) << a_end.err;
  // Root B's container still has its port map, the masquerade of its subnet, the CVE-2020-8558
  // guard, its bridge and forwarding.
  Result table = in_host({"nft", "list", "table", "inet", "modrt"});
  EXPECT_THAT(table.out, HasSubstr("tcp . 8087 : 10.123.0."));
  EXPECT_THAT(table.out, Not(HasSubstr("8086")));
  EXPECT_THAT(table.out, HasSubstr("elements = { 10.123.0.0/24 }"));
  EXPECT_THAT(table.out, HasSubstr("iifname != \"lo\" ip daddr 127.0.0.0/8 drop"));
  EXPECT_THAT(links(), ::testing::Contains(bridge_));
  EXPECT_EQ(ip_forward(), "1\n");
  EXPECT_EQ(leases(), 1u);

  std::ofstream(go_b.string()) << "go\n";
  Result b_end = second.wait(60s);
  EXPECT_EQ(b_end.exit_code, 0) << b_end.err;
  // The last user of the netns removed everything (TearDown: links, ruleset, leases, state dir).
  EXPECT_EQ(ip_forward(), forward_before);
  EXPECT_EQ(state_dirs(other.state_root()), std::vector<std::string>{});
}

// --- subnets that would break the host ---------------------------------------------------------

TEST_F(NetTest, ReservedSubnetsAreRefusedBeforeAnythingIsMade) {
  struct Case {
    std::string with, message;
  };
  for (const Case& c : {
           Case{"subnet: 127.0.0.0/8", "overlaps the special-purpose range 127.0.0.0/8 (loopback)"},
           Case{"subnet: 169.254.0.0/16", "169.254.0.0/16 (link-local)"},
           Case{"subnet: 224.0.0.0/24", "224.0.0.0/4 (multicast)"},
           Case{"subnet: 10.123.0.0/24, subnet6: 'fe80::/64'", "fe80::/10 (link-local)"},
       }) {
    Result r = run_modrt(
        config(unique_name("rs"), "{bridge: " + bridge_ + ", " + c.with + "}", {"/bin/true"}));
    EXPECT_EQ(r.exit_code, 2) << c.with;
    EXPECT_THAT(r.err, HasSubstr(c.message));
  }
  EXPECT_EQ(links(), std::vector<std::string>{"lo"});
}

TEST_F(NetTest, SubnetOverlappingAHostAddressWithoutARouteIsRefused) {
  std::string other = unique_name("mrd");
  ASSERT_EQ(
      in_host({"ip", "link", "add", other, "type", "veth", "peer", "name", other + "p"}).exit_code,
      0);
  // A /32 puts no route in the main table: only the address tells that the host uses it.
  in_host({"ip", "addr", "add", "10.123.0.77/32", "dev", other});
  Result r = run_modrt(config(unique_name("ovl"), bridge_with(), {"/bin/true"}));
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_THAT(r.err, HasSubstr("subnet 10.123.0.0/24 overlaps the address 10.123.0.77/32 of "
                               "interface " +
                               other));
  EXPECT_THAT(links(), Not(::testing::Contains(bridge_)));
  in_host({"ip", "link", "del", other});
}

TEST_F(NetTest, Subnet6OverlappingAHostRouteIsRefused) {
  std::string other = unique_name("mrd");
  ASSERT_EQ(
      in_host({"ip", "link", "add", other, "type", "veth", "peer", "name", other + "p"}).exit_code,
      0);
  in_host({"ip", "link", "set", other, "up"});
  in_host({"ip", "link", "set", other + "p", "up"});
  in_host({"ip", "-6", "route", "add", "fd00:123::/48", "dev", other});
  Result r = run_modrt(
      config(unique_name("ovl6"), bridge_with("subnet6: 'fd00:123:0:1::/64'"), {"/bin/true"}));
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_THAT(r.err, HasSubstr("subnet6 fd00:123:0:1::/64 overlaps the host route fd00:123::/48 "
                               "dev " +
                               other));
  EXPECT_THAT(links(), Not(::testing::Contains(bridge_)));
  in_host({"ip", "link", "del", other});
}

// --- rollback: every entry on its own; what it cannot undo stays for gc
// ---------------------------

TEST_F(NetTest, RollbackUndoesEveryOtherEntryAndNamesTheOneItCouldNot) {
  std::string name = unique_name("rb");
  fs::path go = dir / "go";
  Background running(modrt_argv(config(name, bridge_with("ports: ['8085:80']"), wait_for(go))));
  fs::path claim = net_dir() / "ports" / "tcp-8085";
  ASSERT_TRUE(wait_until([&] { return fs::exists(claim) && links().size() == 3; }, 30s));
  // Make one step fail for real: the port claim becomes a directory, which its release can
  // neither read nor unlink. The port release comes before the lease, bridge and table.
  fs::remove(claim);
  fs::create_directory(claim);
  std::ofstream((claim / "obstacle").string()) << "x\n";
  std::ofstream(go.string()) << "go\n";
  Result r = running.wait(60s);
  EXPECT_THAT(r.err, HasSubstr("rollback could not undo 1 ledger entry, kept for `modrt gc` to "
                               "retry: port 'tcp 8085'"));
  EXPECT_THAT(r.err, HasSubstr("Is a directory"));
  // Everything else was undone: element, lease, veth, bridge, masquerade, table.
  EXPECT_TRUE(wait_until([&] { return links() == std::vector<std::string>{"lo"}; }, 5s));
  EXPECT_EQ(in_host({"nft", "list", "ruleset"}).out, "");
  EXPECT_EQ(leases(), 0u);
  // The run's state stays for gc, which finishes the job once the obstacle is gone.
  EXPECT_EQ(state_dirs(modrt.state_root()), std::vector<std::string>{name});
  Result again = in_host(modrt.argv({"gc"}));
  EXPECT_NE(again.exit_code, 0) << "gc cannot release the claim yet";
  EXPECT_THAT(again.err, HasSubstr("port 'tcp 8085'"));
  fs::remove_all(claim);
  Result gc = in_host(modrt.argv({"gc"}));
  EXPECT_EQ(gc.exit_code, 0) << gc.out << gc.err;
  EXPECT_EQ(state_dirs(modrt.state_root()), std::vector<std::string>{});
  // TearDown: the netns's state directory went with the last entry.
}

// Issue 11 item 4, net's part: modrt SIGKILLed after each journal event of a bridge + port run
// (MODRT_TEST_KILL_AT_EVENT, the core's crash hook); `modrt gc` must then remove everything, from
// the ledger alone. Every acquisition is journaled before it happens, so no kill point leaks.
TEST_F(NetTest, KilledAtEveryJournalEventGcLeavesNothing) {
  std::string name = unique_name("crash");
  std::string cfg = config(name, bridge_with("ports: ['8088:80']"), {"/bin/true"});
  int kills = 0;
  bool completed = false;
  for (int event = 1; event <= 200 && !completed; ++event) {
    SCOPED_TRACE("killed after journal event " + std::to_string(event));
    std::vector<std::string> argv{"env", "MODRT_TEST_KILL_AT_EVENT=" + std::to_string(event)};
    for (const auto& arg : modrt.argv({"run", "-c", cfg})) argv.push_back(arg);
    Result r = run(host_argv(argv), 60s);
    if (r.exit_code != 128 + SIGKILL) {
      // The run got past its last event: it must have ended normally and cleaned up itself.
      EXPECT_EQ(r.exit_code, 0) << r.err;
      completed = true;
    } else {
      ++kills;
    }
    Result gc = in_host(modrt.argv({"gc"}));
    EXPECT_EQ(gc.exit_code, 0) << gc.out << gc.err;
    EXPECT_TRUE(wait_until([&] { return links() == std::vector<std::string>{"lo"}; }, 5s))
        << in_host({"ip", "-o", "link"}).out;
    EXPECT_EQ(in_host({"nft", "list", "ruleset"}).out, "");
    EXPECT_EQ(leases(), 0u);
    EXPECT_FALSE(fs::exists(net_dir()));
    EXPECT_EQ(state_dirs(modrt.state_root()), std::vector<std::string>{});
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_TRUE(completed);
  EXPECT_GE(kills, 5);
  std::cout << "[ NOTE     ] " << kills << " kill points, each collected by gc\n";
}

// --- a killed modrt: its ledger undoes the run, its lease is reclaimable -----------------------

TEST_F(NetTest, KilledRunIsUndoneByDeleteAndItsStaticAddressReclaimed) {
  std::string name = unique_name("k");
  std::string a = config(name, bridge_with("ip: 10.123.0.30, ports: ['8084:80']"),
                         {"/bin/busybox", "sleep", "60"});
  Background first(modrt_argv(a));
  // Up when its veth (a third link besides lo and the bridge) exists.
  ASSERT_TRUE(wait_until([&] { return links().size() == 3; }, 30s)) << in_host({"ip", "link"}).out;
  first.signal(SIGKILL);  // ip netns exec execs modrt itself: this is modrt, not a wrapper
  first.wait(30s);
  // The workload died with modrt (PDEATHSIG), its netns and veth with it; lease and rules remain.
  ASSERT_TRUE(wait_until([&] { return links().size() == 2; }, 10s));
  EXPECT_EQ(leases(), 1u);

  // The stale lease does not block the address: its modrt is gone and so is its veth.
  Result second = run_modrt(config(unique_name("b"), bridge_with("ip: 10.123.0.30"),
                                   {"/bin/busybox", "ping", "-c", "1", "-W", "5", "10.123.0.1"}));
  EXPECT_EQ(second.exit_code, 0) << second.err;

  Result del = in_host(modrt.argv({"delete", name}));
  EXPECT_EQ(del.exit_code, 0) << del.err;
  // TearDown: no veth, no bridge, no rule, no lease, no state dir.
}

// `modrt gc` run from another netns (here: the machine's) finds the run's netns again by its
// cookie and undoes everything inside it, touching nothing where gc itself runs.
TEST_F(NetTest, GcFromAnotherNetnsUndoesTheRunInsideItsOwn) {
  std::string name = unique_name("k");
  Background first(
      modrt_argv(config(name, bridge_with("ports: ['8089:80']"), {"/bin/busybox", "sleep", "60"})));
  // Up when its veth exists and its port element is in (added on a thread beside the veth).
  ASSERT_TRUE(wait_until(
      [&] {
        return links().size() == 3 &&
               in_host({"nft", "list", "ruleset"}).out.find("8089") != std::string::npos;
      },
      30s))
      << in_host({"ip", "link"}).out;
  first.signal(SIGKILL);
  first.wait(30s);
  ASSERT_TRUE(wait_until([&] { return links().size() == 2; }, 10s));
  std::string forward_here = read_file("/proc/sys/net/ipv4/ip_forward");
  Result gc = modrt.run({"gc"});  // in this process's netns, not the test's host netns
  EXPECT_EQ(gc.exit_code, 0) << gc.out << gc.err;
  EXPECT_EQ(read_file("/proc/sys/net/ipv4/ip_forward"), forward_here);
  EXPECT_EQ(state_dirs(modrt.state_root()), std::vector<std::string>{});
  // TearDown: nothing left in the test's host netns, its state dir gone, this netns untouched.
}

// When nothing can enter the run's netns any more, its links, table and forwarding went with it:
// gc releases what is left of the run in the shared state and succeeds.
TEST_F(NetTest, GcAfterTheRunsNetnsIsGoneReleasesItsSharedState) {
  std::string name = unique_name("k");
  Background first(
      modrt_argv(config(name, bridge_with("ports: ['8090:80']"), {"/bin/busybox", "sleep", "60"})));
  ASSERT_TRUE(wait_until([&] { return links().size() == 3; }, 30s)) << in_host({"ip", "link"}).out;
  first.signal(SIGKILL);
  first.wait(30s);
  ASSERT_TRUE(wait_until([&] { return links().size() == 2; }, 10s));
  ASSERT_EQ(leases(), 1u);
  // The test's "host" goes away for good; a fresh one of the same name serves TearDown.
  ASSERT_EQ(run({"ip", "netns", "del", host_ns()}).exit_code, 0);
  ASSERT_EQ(run({"ip", "netns", "add", host_ns()}).exit_code, 0);
  std::string forward_here = read_file("/proc/sys/net/ipv4/ip_forward");
  Result gc = modrt.run({"gc"});
  EXPECT_EQ(gc.exit_code, 0) << gc.out << gc.err;
  EXPECT_THAT(gc.err, HasSubstr("is gone"));
  EXPECT_EQ(read_file("/proc/sys/net/ipv4/ip_forward"), forward_here);
  EXPECT_EQ(leases(), 0u);
  EXPECT_FALSE(fs::exists(net_dir()));
  EXPECT_EQ(state_dirs(modrt.state_root()), std::vector<std::string>{});
}

// --- a later stage fails: the net stage's work is undone completely -----------------------------

class NetRollbackTest : public NetTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(NetRollbackTest, FailureInALaterStageLeavesNothing) {
  std::string cfg = config(unique_name("f"), bridge_with("ports: ['8083:80']"), {"/bin/true"},
                           "  - plugin: fault1\n    with: {fail_at: " + GetParam() + "}\n");
  Result r = run_modrt(cfg);
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_THAT(r.err, HasSubstr("fault1 failed at " + GetParam() + " on purpose"));
  // TearDown checks the links, the ruleset and the leases.
}

INSTANTIATE_TEST_SUITE_P(Phases, NetRollbackTest,
                         ::testing::Values("prepare", "apply_host", "apply_workload"));

}  // namespace
}  // namespace modrt::test
