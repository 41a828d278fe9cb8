#include "ipam.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <sstream>

#include <fmt/format.h>

#include "modrt/error.hpp"

namespace modrt::net {

namespace fs = std::filesystem;

namespace {

std::string read_small(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return {};
    throw_errno("read '{}'", path.string());
  }
  UniqueFd owner(fd);
  std::string out;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read '{}'", path.string());
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

// Creates path with content; false when it already exists. O_EXCL makes the check and the claim one
// step.
bool create_exclusive(const fs::path& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return false;
    throw_errno("create '{}'", path.string());
  }
  UniqueFd owner(fd);
  if (::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
    int code = errno;
    ::unlink(path.c_str());
    throw_system_error(code, fmt::format("write '{}'", path.string()));
  }
  return true;
}

void replace_file(const fs::path& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw_errno("write '{}'", path.string());
  UniqueFd owner(fd);
  if (::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size()))
    throw_errno("write '{}'", path.string());
}

// Overwrites a fixed-width number in place. No O_TRUNC: on ext4 a truncate-then-close forces the
// data out to disk (auto_da_alloc), which cost 3-9 ms per run where /run is not a tmpfs.
void store_number(const fs::path& path, uint32_t value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw_errno("write '{}'", path.string());
  UniqueFd owner(fd);
  std::string text = fmt::format("{:010}\n", value);
  if (::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
    throw_errno("write '{}'", path.string());
}

void remove_file(const fs::path& path) {
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) throw_errno("remove '{}'", path.string());
}

std::string field(const std::string& text, std::string_view key) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 &&
        line[key.size()] == '=')
      return line.substr(key.size() + 1);
  return {};
}

template <typename T>
T number(const std::string& text) {
  T value{};
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

}  // namespace

uint64_t process_start_time(pid_t pid) {
  std::string stat;
  try {
    stat = read_small(fmt::format("/proc/{}/stat", pid));
  } catch (const Error&) {
    return 0;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(stat.substr(close + 2));
  std::string word;
  for (int field_no = 3; in >> word; ++field_no)
    if (field_no == 22) return number<uint64_t>(word);
  return 0;
}

bool lease_is_stale(const Lease& lease) {
  if (lease.pid > 0 && process_start_time(lease.pid) == lease.start_time) return false;
  return lease.veth.empty() || ::if_nametoindex(lease.veth.c_str()) == 0;
}

std::string format_lease(const Lease& lease) {
  return fmt::format("container={}\npid={}\nstart={}\nveth={}\n", lease.container, lease.pid,
                     lease.start_time, lease.veth);
}

std::optional<Lease> parse_lease(Ipv4 address, const std::string& text) {
  Lease lease;
  lease.address = address;
  lease.container = field(text, "container");
  if (lease.container.empty()) return std::nullopt;
  lease.pid = number<pid_t>(field(text, "pid"));
  lease.start_time = number<uint64_t>(field(text, "start"));
  lease.veth = field(text, "veth");
  return lease;
}

NetState::NetState(fs::path dir, StaleCheck stale)
    : dir_(std::move(dir)), stale_(std::move(stale)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw Error(fmt::format("create '{}': {}", dir_.string(), ec.message()), ec.value());
  fs::path lock = dir_ / "lock";
  lock_ = open_fd(lock.c_str(), O_RDWR | O_CREAT, 0600);
  // The lock file is never removed: a waiter holding the old inode would otherwise share the lock.
  while (::flock(lock_.get(), LOCK_EX) < 0) {
    if (errno != EINTR) throw_errno("lock '{}'", lock.string());
  }
}

fs::path NetState::pool_dir(const std::string& pool) const {
  return dir_ / "pools" / pool;
}

bool NetState::write_lease(const fs::path& path, const Lease& lease) {
  return create_exclusive(path, format_lease(lease));
}

Ipv4 NetState::allocate(const std::string& pool, const Cidr4& subnet, Ipv4 gateway, Lease owner) {
  fs::path dir = pool_dir(pool);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(fmt::format("create '{}': {}", dir.string(), ec.message()), ec.value());
  uint32_t count = subnet.host_count();
  uint32_t start = number<uint32_t>(read_small(dir / "next"));
  if (start < 1 || start > count) start = 1;
  // Round robin from the last allocation, so an address just released (whose old netns may still
  // be dying) is the last one handed out again.
  for (int pass = 0; pass < 2; ++pass) {
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t n = (start - 1 + i) % count + 1;
      Ipv4 candidate = subnet.host(n);
      if (candidate == gateway) continue;
      owner.address = candidate;
      if (write_lease(dir / candidate.str(), owner)) {
        store_number(dir / "next", n % count + 1);
        return candidate;
      }
    }
    if (reclaim_stale(pool) == 0) break;
  }
  throw Error(fmt::format("subnet {} of bridge '{}' is full: all {} addresses are leased",
                          subnet.str(), pool, count - 1),
              ENOSPC);
}

void NetState::claim(const std::string& pool, Lease owner) {
  fs::path dir = pool_dir(pool);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(fmt::format("create '{}': {}", dir.string(), ec.message()), ec.value());
  fs::path path = dir / owner.address.str();
  if (write_lease(path, owner)) return;
  auto held = lease(pool, owner.address);
  if (held && !stale_(*held))
    throw Error(
        fmt::format("address {} is taken by container '{}'", owner.address.str(), held->container),
        EADDRINUSE);
  remove_file(path);
  if (!write_lease(path, owner))
    throw Error(fmt::format("address {} is taken", owner.address.str()), EADDRINUSE);
}

bool NetState::release(const std::string& pool, Ipv4 address, const std::string& container) {
  auto held = lease(pool, address);
  if (!held || held->container != container) return false;
  remove_file(pool_dir(pool) / address.str());
  if (leases(pool).empty()) {
    // An empty pool leaves nothing behind: the round-robin cursor starts over.
    remove_file(pool_dir(pool) / "next");
    std::error_code ec;
    fs::remove(pool_dir(pool), ec);
  }
  return true;
}

std::optional<Lease> NetState::lease(const std::string& pool, Ipv4 address) const {
  std::string text = read_small(pool_dir(pool) / address.str());
  if (text.empty()) return std::nullopt;
  return parse_lease(address, text);
}

std::vector<Lease> NetState::leases(const std::string& pool) const {
  std::vector<Lease> out;
  std::error_code ec;
  for (fs::directory_iterator it(pool_dir(pool), ec), end; !ec && it != end; it.increment(ec)) {
    auto address = Ipv4::parse(it->path().filename().string());
    if (!address) continue;
    if (auto l = parse_lease(*address, read_small(it->path()))) out.push_back(*l);
  }
  return out;
}

size_t NetState::total_leases() const {
  size_t total = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir_ / "pools", ec), end; !ec && it != end; it.increment(ec))
    total += leases(it->path().filename().string()).size();
  return total;
}

size_t NetState::reclaim_stale(const std::string& pool) {
  size_t reclaimed = 0;
  for (const auto& l : leases(pool)) {
    if (!stale_(l)) continue;
    remove_file(pool_dir(pool) / l.address.str());
    ++reclaimed;
  }
  return reclaimed;
}

void NetState::claim_port(const std::string& proto, uint16_t port, const std::string& container,
                          Ipv4 address) {
  fs::path dir = dir_ / "ports";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(fmt::format("create '{}': {}", dir.string(), ec.message()), ec.value());
  fs::path path = dir / fmt::format("{}-{}", proto, port);
  std::string content = fmt::format("container={}\naddress={}\n", container, address.str());
  if (create_exclusive(path, content)) return;
  std::string held = read_small(path);
  std::string holder = field(held, "container");
  // A claim whose container no longer holds its address is left over from a crash.
  bool live = false;
  if (auto addr = Ipv4::parse(field(held, "address"))) {
    std::error_code it_ec;
    for (fs::directory_iterator it(dir_ / "pools", it_ec), end; !it_ec && it != end;
         it.increment(it_ec)) {
      auto l = lease(it->path().filename().string(), *addr);
      if (l && l->container == holder && !stale_(*l)) live = true;
    }
  }
  if (live)
    throw Error(
        fmt::format("host port {}/{} is already published by container '{}'", port, proto, holder),
        EADDRINUSE);
  replace_file(path, content);
}

bool NetState::release_port(const std::string& proto, uint16_t port, const std::string& container) {
  fs::path path = dir_ / "ports" / fmt::format("{}-{}", proto, port);
  if (field(read_small(path), "container") != container) return false;
  remove_file(path);
  return true;
}

std::optional<std::string> NetState::marker(const std::string& name) const {
  fs::path path = dir_ / "owned" / name;
  if (::access(path.c_str(), F_OK) != 0) return std::nullopt;
  return read_small(path);
}

void NetState::set_marker(const std::string& name, const std::string& value) {
  std::error_code ec;
  fs::create_directories(dir_ / "owned", ec);
  if (ec)
    throw Error(fmt::format("create '{}': {}", (dir_ / "owned").string(), ec.message()),
                ec.value());
  replace_file(dir_ / "owned" / name, value);
}

void NetState::clear_marker(const std::string& name) {
  remove_file(dir_ / "owned" / name);
}

}  // namespace modrt::net
