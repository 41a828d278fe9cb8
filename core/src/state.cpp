#include "state.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "modrt/error.hpp"

namespace modrt {

namespace fs = std::filesystem;

namespace {

UniqueFd try_lock(const fs::path& dir, bool create) {
  fs::path lock_path = dir / "lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
  if (fd < 0) {
    if (errno == ENOENT && !create) return {};
    throw_errno("open '{}'", lock_path.string());
  }
  UniqueFd lock(fd);
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK) return {};
    throw_errno("lock '{}'", lock_path.string());
  }
  return lock;
}

std::string describe_owner(const fs::path& dir) {
  try {
    auto state = StateDir::load(dir);
    return fmt::format(" (modrt pid {})", state.value("modrt_pid", 0));
  } catch (...) {
    return "";
  }
}

}  // namespace

ProcessIdentity ProcessIdentity::self() {
  ProcessIdentity id;
  id.pid = ::getpid();
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  // The command name may hold spaces and parentheses; fields are counted after the last ')'.
  size_t close = text.rfind(')');
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i)
    if (i == 22) id.start_time = std::stoull(field);
  return id;
}

bool ProcessIdentity::alive() const {
  if (pid <= 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  size_t close = text.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i)
    if (i == 22) return std::stoull(field) == start_time;
  return false;
}

bool state_is_live(const fs::path& dir) {
  UniqueFd lock = try_lock(dir, false);
  if (!lock) {
    std::error_code ec;
    // No lock file at all: a dir that is not (or no longer) a run.
    return fs::exists(dir / "lock", ec);
  }
  try {
    auto state = StateDir::load(dir);
    ProcessIdentity owner{state.value("modrt_pid", 0), state.value("modrt_start_time", 0ull)};
    return owner.alive();
  } catch (const std::exception&) {
    return false;
  }
}

fs::path StateDir::default_root() {
  if (::geteuid() == 0) return "/run/modrt";
  if (const char* xdg = ::getenv("XDG_RUNTIME_DIR"); xdg && *xdg) return fs::path(xdg) / "modrt";
  return fs::path("/tmp") / ("modrt-" + std::to_string(::geteuid()));
}

StateDir StateDir::create(const fs::path& root, const std::string& name, const Recover& recover) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) throw Error(fmt::format("create state root '{}': {}", root.string(), ec.message()));
  ::chmod(root.c_str(), 0700);
  fs::path final_path = root / name;
  // Build the dir under a private name with the lock already held, then rename it into place: a
  // concurrent `modrt gc` can never see a half-made dir whose lock is free.
  fs::path fresh = root / fmt::format(".new-{}.{}", name, ::getpid());
  fs::remove_all(fresh, ec);
  if (::mkdir(fresh.c_str(), 0700) < 0) throw_errno("create state dir '{}'", fresh.string());
  UniqueFd lock = try_lock(fresh, true);
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (::rename(fresh.c_str(), final_path.c_str()) == 0)
      return StateDir(final_path, std::move(lock));
    if (errno != EEXIST && errno != ENOTEMPTY) {
      int code = errno;
      fs::remove_all(fresh, ec);
      throw_system_error(code, fmt::format("create state dir '{}'", final_path.string()));
    }
    if (state_is_live(final_path)) {
      fs::remove_all(fresh, ec);
      throw Error(fmt::format("a container named '{}' is already running{}; pick another --name",
                              name, describe_owner(final_path)));
    }
    try {
      StateDir stale = adopt(final_path);
      recover(final_path);
      stale.remove();
    } catch (...) {
      fs::remove_all(fresh, ec);
      throw;
    }
  }
  fs::remove_all(fresh, ec);
  throw Error(fmt::format("create state dir '{}': it keeps reappearing", final_path.string()));
}

StateDir StateDir::adopt(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw Error(fmt::format("no state at '{}'", dir.string()));
  UniqueFd lock = try_lock(dir, true);
  if (!lock)
    throw Error(
        fmt::format("'{}' belongs to a running modrt{}", dir.string(), describe_owner(dir)));
  if (fs::exists(dir / "state.json")) {
    auto state = load(dir);
    ProcessIdentity owner{state.value("modrt_pid", 0), state.value("modrt_start_time", 0ull)};
    if (owner.alive() && owner.pid != ::getpid())
      throw Error(fmt::format("'{}' belongs to a running modrt (pid {})", dir.string(), owner.pid));
  }
  return StateDir(dir, std::move(lock));
}

StateDir::~StateDir() = default;

void StateDir::save(const nlohmann::json& state) const {
  fs::path tmp = path_ / "state.json.tmp";
  std::string text = state.dump(2);
  {
    UniqueFd fd = open_fd(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      throw_errno("write '{}'", tmp.string());
  }
  if (::rename(tmp.c_str(), (path_ / "state.json").c_str()) < 0)
    throw_errno("rename '{}'", tmp.string());
}

nlohmann::json StateDir::load(const fs::path& dir) {
  std::ifstream in(dir / "state.json");
  if (!in) throw Error(fmt::format("read '{}': no state.json", dir.string()));
  return nlohmann::json::parse(in);
}

void StateDir::remove() {
  if (path_.empty()) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
  lock_.reset();
  path_.clear();
}

}  // namespace modrt
