#include "ipam.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
// Creates path with content, or returns false if it exists. The file appears complete or not at
// all: it is written unnamed (O_TMPFILE) and then linked into place, so a SIGKILL mid-write can
// never leave an empty lease that blocks its address for good.
bool create_exclusive(const fs::path& path, const std::string& content) {
  int fd = ::open(path.parent_path().c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) throw_errno("create a file in '{}'", path.parent_path().string());
  UniqueFd owner(fd);
  if (::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size()))
    throw_errno("write '{}'", path.string());
  // linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; the /proc link works for anyone.
  std::string self = "/proc/self/fd/" + std::to_string(fd);
  if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) < 0) {
    if (errno == EEXIST) return false;
    throw_errno("create '{}'", path.string());
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

// Creates a directory private to its owner (and its missing parents); an existing one is fine as
// long as it is a real directory owned by us (or, for a parent like /tmp, by root): state under a
// folder someone else controls could be swapped under us.
void make_private_dir(const fs::path& path, bool root_may_own) {
  if (::mkdir(path.c_str(), 0700) < 0) {
    if (errno == ENOENT) {
      std::error_code ec;
      fs::create_directories(path.parent_path(), ec);
      if (::mkdir(path.c_str(), 0700) < 0 && errno != EEXIST)
        throw_errno("create '{}'", path.string());
    } else if (errno != EEXIST) {
      throw_errno("create '{}'", path.string());
    }
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) < 0) throw_errno("stat '{}'", path.string());
  if (!S_ISDIR(st.st_mode) || (st.st_uid != ::geteuid() && !(root_may_own && st.st_uid == 0)))
    throw Error(fmt::format("'{}' is not a directory of uid {}: refusing to keep state there",
                            path.string(), ::geteuid()),
                EPERM);
}

// Ownership: by the owner token when the record and the caller both have one (names repeat across
// state roots), by container name for records of a modrt without tokens.
bool held_by(const std::string& record_owner, const std::string& record_container,
             const std::string& owner, const std::string& container) {
  if (!record_owner.empty() && !owner.empty()) return record_owner == owner;
  return record_container == container;
}

}  // namespace

uint64_t socket_netns_cookie(int socket_fd) {
  uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  if (::getsockopt(socket_fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0)
    throw_errno("identify the network namespace: SO_NETNS_COOKIE (Linux 5.14 or later)");
  return cookie;
}

uint64_t netns_cookie() {
  // Any socket will do: it belongs to the netns of the thread that made it.
  UniqueFd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) throw_errno("identify the network namespace: socket");
  return socket_netns_cookie(sock.get());
}

fs::path netns_state_dir(uint64_t cookie) {
  fs::path base;
  if (::geteuid() == 0)
    base = "/run/modrt-net";
  else if (const char* xdg = ::getenv("XDG_RUNTIME_DIR"); xdg && *xdg)
    base = fs::path(xdg) / "modrt-net";
  else
    base = fs::path("/tmp") / ("modrt-net-" + std::to_string(::geteuid()));
  return base / std::to_string(cookie);
}

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
  // A start time of 0 is no identity (a torn or hand-made lease): it must not make a lease
  // immortal just because process_start_time() says 0 for a pid that is gone, too.
  if (lease.pid > 0 && lease.start_time != 0 && process_start_time(lease.pid) == lease.start_time)
    return false;
  return lease.veth.empty() || ::if_nametoindex(lease.veth.c_str()) == 0;
}

std::string format_lease(const Lease& lease) {
  std::string text = fmt::format("container={}\npid={}\nstart={}\nveth={}\n", lease.container,
                                 lease.pid, lease.start_time, lease.veth);
  if (!lease.owner.empty()) text += fmt::format("owner={}\n", lease.owner);
  return text;
}

std::optional<Lease> parse_lease(Ipv4 address, const std::string& text) {
  Lease lease;
  lease.address = address;
  lease.container = field(text, "container");
  if (lease.container.empty()) return std::nullopt;
  lease.pid = number<pid_t>(field(text, "pid"));
  lease.start_time = number<uint64_t>(field(text, "start"));
  lease.veth = field(text, "veth");
  lease.owner = field(text, "owner");
  return lease;
}

NetState::NetState(fs::path dir, StaleCheck stale)
    : dir_(std::move(dir)), stale_(std::move(stale)) {
  fs::path lock = dir_ / "lock";
  // The last user of a directory removes it, lock file included (remove_if_unused), possibly while
  // this one waits for the lock on the old file: a lock is only ours once the file it is on is
  // still the one at the path. Each retry means a last user came and went, so a bound is only a
  // safety net.
  for (int attempt = 0;; ++attempt) {
    if (attempt == 1000)
      throw Error(fmt::format("lock '{}': it keeps being removed under us", lock.string()));
    make_private_dir(dir_.parent_path(), true);
    make_private_dir(dir_, false);
    int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      if (errno == ENOENT) continue;  // removed between the mkdir and the open
      throw_errno("open '{}'", lock.string());
    }
    lock_ = UniqueFd(fd);
    while (::flock(fd, LOCK_EX) < 0) {
      if (errno != EINTR) throw_errno("lock '{}'", lock.string());
    }
    struct stat held {};
    struct stat now {};
    if (::fstat(fd, &held) < 0) throw_errno("stat '{}'", lock.string());
    if (::stat(lock.c_str(), &now) == 0 && now.st_ino == held.st_ino && now.st_dev == held.st_dev)
      return;
    lock_.reset();
  }
}

fs::path NetState::pool_dir(const std::string& pool) const {
  return dir_ / "pools" / pool;
}

bool NetState::write_lease(const fs::path& path, const Lease& lease) {
  return create_exclusive(path, format_lease(lease));
}

Ipv4 NetState::allocate(const std::string& pool, const Cidr4& subnet, Ipv4 gateway, Lease owner,
                        const std::function<void(Ipv4)>& before_lease) {
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
      fs::path path = dir / candidate.str();
      // Free unless a lease file exists; under the lock nobody can take it before we do.
      if (::access(path.c_str(), F_OK) == 0) continue;
      if (before_lease) before_lease(candidate);
      if (write_lease(path, owner)) {
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

bool NetState::release(const std::string& pool, Ipv4 address, const std::string& container,
                       const std::string& owner) {
  auto held = lease(pool, address);
  if (!held || !held_by(held->owner, held->container, owner, container)) return false;
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
  std::error_code ec;
  for (fs::directory_iterator it(pool_dir(pool), ec), end; !ec && it != end; it.increment(ec)) {
    auto address = Ipv4::parse(it->path().filename().string());
    if (!address) continue;
    // A lease that does not parse is one an older modrt was killed writing (today's are linked
    // into place whole): nobody owns it, and left alone it would block its address for good.
    auto l = parse_lease(*address, read_small(it->path()));
    if (l && !stale_(*l)) continue;
    remove_file(it->path());
    ++reclaimed;
  }
  return reclaimed;
}

void NetState::claim_port(const std::string& proto, uint16_t port, const std::string& container,
                          Ipv4 address, const std::string& owner) {
  fs::path dir = dir_ / "ports";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(fmt::format("create '{}': {}", dir.string(), ec.message()), ec.value());
  fs::path path = dir / fmt::format("{}-{}", proto, port);
  std::string content = fmt::format("container={}\naddress={}\n", container, address.str());
  if (!owner.empty()) content += fmt::format("owner={}\n", owner);
  if (create_exclusive(path, content)) return;
  std::string held = read_small(path);
  std::string holder = field(held, "container");
  std::string holder_owner = field(held, "owner");
  // A claim whose container no longer holds its address is left over from a crash.
  bool live = false;
  if (auto addr = Ipv4::parse(field(held, "address"))) {
    std::error_code it_ec;
    for (fs::directory_iterator it(dir_ / "pools", it_ec), end; !it_ec && it != end;
         it.increment(it_ec)) {
      auto l = lease(it->path().filename().string(), *addr);
      if (l && held_by(l->owner, l->container, holder_owner, holder) && !stale_(*l)) live = true;
    }
  }
  if (live)
    throw Error(
        fmt::format("host port {}/{} is already published by container '{}'", port, proto, holder),
        EADDRINUSE);
  replace_file(path, content);
}

bool NetState::release_port(const std::string& proto, uint16_t port, const std::string& container,
                            const std::string& owner) {
  fs::path path = dir_ / "ports" / fmt::format("{}-{}", proto, port);
  std::string held = read_small(path);
  if (held.empty() || !held_by(field(held, "owner"), field(held, "container"), owner, container))
    return false;
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

namespace {

bool has_files(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  return !ec && it != fs::directory_iterator();
}

}  // namespace

bool NetState::unused() const {
  return total_leases() == 0 && !has_files(dir_ / "ports") && !has_files(dir_ / "owned");
}

bool NetState::remove_if_unused() {
  if (!unused()) return false;
  // What is left are empty folders and round-robin cursors of empty pools.
  for (const char* sub : {"pools", "ports", "owned"}) {
    std::error_code ec;
    fs::remove_all(dir_ / sub, ec);
    if (ec) throw Error(fmt::format("remove '{}': {}", (dir_ / sub).string(), ec.message()));
  }
  // The lock goes while we hold it: a waiter wakes on the dead file and starts over.
  remove_file(dir_ / "lock");
  if (::rmdir(dir_.c_str()) < 0 && errno != ENOENT) throw_errno("remove '{}'", dir_.string());
  return true;
}

}  // namespace modrt::net
