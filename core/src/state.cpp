#include "state.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "modrt/error.hpp"

namespace modrt {

namespace fs = std::filesystem;

namespace {

// The dir itself is the lock: no lock file to create and unlink on every run.
UniqueFd try_lock(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return {};
    throw_errno("open '{}'", dir.string());
  }
  UniqueFd lock(fd);
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK) return {};
    throw_errno("lock '{}'", dir.string());
  }
  return lock;
}

unsigned long long start_time_of(const std::string& stat_path) {
  std::ifstream stat(stat_path);
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  // The command name may hold spaces and parentheses; fields are counted after the last ')'.
  size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i)
    if (i == 22) return std::stoull(field);
  return 0;
}

std::string describe_owner(const fs::path& dir) {
  try {
    return fmt::format(" (modrt pid {})", StateDir::load(dir).value("modrt_pid", 0));
  } catch (...) {
    return "";
  }
}

void write_all(int fd, const std::string& text, const fs::path& path) {
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    throw_errno("write '{}'", path.string());
}

}  // namespace

ProcessIdentity ProcessIdentity::self() {
  return {::getpid(), start_time_of("/proc/self/stat")};
}

bool ProcessIdentity::alive() const {
  if (pid <= 0) return false;
  return start_time_of("/proc/" + std::to_string(pid) + "/stat") == start_time;
}

bool state_is_live(const fs::path& dir) {
  UniqueFd lock = try_lock(dir);
  if (!lock) return fs::exists(dir);  // held by someone (or gone meanwhile)
  try {
    auto state = StateDir::load(dir);
    return ProcessIdentity{state.value("modrt_pid", 0), state.value("modrt_start_time", 0ull)}
        .alive();
  } catch (const std::exception&) {
    return false;
  }
}

fs::path StateDir::default_root() {
  if (::geteuid() == 0) return "/run/modrt";
  if (const char* xdg = ::getenv("XDG_RUNTIME_DIR"); xdg && *xdg) return fs::path(xdg) / "modrt";
  return fs::path("/tmp") / ("modrt-" + std::to_string(::geteuid()));
}

StateDir StateDir::create(const fs::path& root, const std::string& name,
                          const nlohmann::json& record, const Recover& recover) {
  if (::mkdir(root.c_str(), 0700) < 0 && errno != EEXIST) {
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec) throw Error(fmt::format("create state root '{}': {}", root.string(), ec.message()));
  }
  fs::path final_path = root / name;
  // Build the dir under a private name, complete and locked, then rename it into place: nobody can
  // see a half-written state.json or a dir whose lock is free.
  fs::path fresh = root / fmt::format(".new-{}.{}", name, ::getpid());
  std::error_code ec;
  if (::mkdir(fresh.c_str(), 0700) < 0) {
    if (errno != EEXIST) throw_errno("create state dir '{}'", fresh.string());
    fs::remove_all(fresh, ec);  // left by a dead modrt that had our pid
    if (::mkdir(fresh.c_str(), 0700) < 0) throw_errno("create state dir '{}'", fresh.string());
  }
  UniqueFd lock, journal;
  try {
    lock = try_lock(fresh);
    if (!lock) throw Error(fmt::format("lock '{}': held by another process", fresh.string()));
    UniqueFd file = open_fd_at(lock.get(), "state.json", O_WRONLY | O_CREAT | O_EXCL, 0600);
    write_all(file.get(), record.dump(1) + "\n", fresh / "state.json");
    journal = open_fd_at(lock.get(), "journal", O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0600);
  } catch (...) {
    fs::remove_all(fresh, ec);
    throw;
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (::rename(fresh.c_str(), final_path.c_str()) == 0)
      return StateDir(final_path, std::move(lock), std::move(journal));
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
  UniqueFd lock = try_lock(dir);
  if (!lock)
    throw Error(
        fmt::format("'{}' belongs to a running modrt{}", dir.string(), describe_owner(dir)));
  if (fs::exists(dir / "state.json")) {
    auto state = load(dir);
    ProcessIdentity owner{state.value("modrt_pid", 0), state.value("modrt_start_time", 0ull)};
    if (owner.alive() && owner.pid != ::getpid())
      throw Error(fmt::format("'{}' belongs to a running modrt (pid {})", dir.string(), owner.pid));
  }
  return StateDir(dir, std::move(lock), UniqueFd());
}

StateDir::~StateDir() = default;

void StateDir::append(const std::vector<nlohmann::json>& events) const {
  if (!journal_ || events.empty()) return;
  std::string text;
  for (const auto& e : events) text += e.dump() + "\n";
  write_all(journal_.get(), text, path_ / "journal");
}

nlohmann::json StateDir::load(const fs::path& dir) {
  std::ifstream in(dir / "state.json");
  if (!in) throw Error(fmt::format("read '{}': no state.json", dir.string()));
  nlohmann::json state = nlohmann::json::parse(in);
  state["workload_pid"] = -1;
  auto& stages = state["stages"];
  for (auto& s : stages) {
    s["started"] = false;
    s["ledger"] = nlohmann::json::array();
  }
  std::ifstream journal(dir / "journal");
  for (std::string line; std::getline(journal, line);) {
    nlohmann::json e = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (e.is_discarded() || !e.is_object()) continue;  // torn by a crash mid-write
    if (e.contains("workload_pid")) state["workload_pid"] = e["workload_pid"];
    if (!e.contains("stage")) continue;
    size_t i = e["stage"].get<size_t>();
    if (i >= stages.size()) continue;
    if (e.contains("started")) stages[i]["started"] = e["started"];
    if (e.contains("record")) stages[i]["ledger"].push_back(e["record"]);
    if (e.contains("ledger")) stages[i]["ledger"] = e["ledger"];
  }
  return state;
}

void StateDir::remove() {
  if (path_.empty()) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
  journal_.reset();
  lock_.reset();
  path_.clear();
}

}  // namespace modrt
