#include "state.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>

#include "modrt/config.hpp"
#include "modrt/error.hpp"
#include "remove_tree.hpp"

namespace modrt {

namespace fs = std::filesystem;

namespace {

// What state.json says of itself: a dir without it was not made by modrt and is never touched.
constexpr const char* kMarker = "modrt-state";
constexpr const char* kHalfMadePrefix = ".new-";

std::string read_all(int fd) {
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("read");
    }
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
  }
}

// Opens <dir_fd>/name for reading without following a symlink; an empty fd when it is not there.
UniqueFd open_entry(int dir_fd, const char* name) {
  int fd = ::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT && errno != ELOOP) throw_errno("open '{}'", name);
  return UniqueFd(fd);
}

// The dir itself is the lock: no lock file to create and unlink on every run.
UniqueFd open_dir(int root_fd, const std::string& name) {
  int fd = ::openat(root_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) return {};
    throw_errno("open state dir '{}'", name);
  }
  return UniqueFd(fd);
}

bool try_lock(const UniqueFd& dir, const std::string& name) {
  if (::flock(dir.get(), LOCK_EX | LOCK_NB) == 0) return true;
  if (errno == EWOULDBLOCK) return false;
  throw_errno("lock state dir '{}'", name);
}

// A state.json is read back after crashes and may have been edited by anyone who can write the
// state root: every field the readers use must have its type (and a pid its range), or the whole
// record is refused with an Error, never a json::type_error or an out-of-range conversion later.
void check_fields(const nlohmann::json& record) {
  auto fail = [](std::string_view what) { throw Error(fmt::format("state.json: {}", what)); };
  if (!record.is_object()) fail("not a JSON object");
  for (const char* key : {"kind", "name", "config_text", "config_file", "config_dir"})
    if (record.contains(key) && !record[key].is_string())
      fail(fmt::format("'{}' is not a string", key));
  for (const char* key : {"modrt_pid", "version"})
    if (record.contains(key) &&
        !(record[key].is_number_integer() && record[key].get<int64_t>() >= 0 &&
          record[key].get<int64_t>() <= INT32_MAX))
      fail(fmt::format("'{}' is not a process id", key));
  if (record.contains("modrt_start_time") && !record["modrt_start_time"].is_number_unsigned())
    fail("'modrt_start_time' is not a start time");
  if (!record.contains("stages")) return;
  if (!record["stages"].is_array()) fail("'stages' is not a list");
  for (const auto& stage : record["stages"]) {
    if (!stage.is_object()) fail("a stage is not an object");
    for (const char* key : {"plugin", "path"})
      if (stage.contains(key) && !stage[key].is_string())
        fail(fmt::format("a stage's '{}' is not a string", key));
  }
}

// state.json of a dir, checked for the marker; throws when it is missing or not modrt's.
nlohmann::json read_record(int dir_fd, const std::string& name) {
  UniqueFd file = open_entry(dir_fd, "state.json");
  if (!file) throw NotOurs(fmt::format("'{}' holds no state.json: not a state dir of modrt", name));
  nlohmann::json record = nlohmann::json::parse(read_all(file.get()), nullptr, false);
  auto field = [&](const char* key) {
    auto it = record.find(key);
    return it != record.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (!record.is_object() || field("kind") != kMarker || field("name") != name)
    throw NotOurs(fmt::format("'{}' holds no state of modrt (no marker in its state.json)", name));
  check_fields(record);
  return record;
}

std::string journal_of(int dir_fd) {
  UniqueFd file = open_entry(dir_fd, "journal");
  return file ? read_all(file.get()) : std::string();
}

std::string describe_owner(int dir_fd, const std::string& name) {
  try {
    return fmt::format(" (modrt pid {})", read_record(dir_fd, name).value("modrt_pid", 0));
  } catch (...) {
    return "";
  }
}

void write_all(int fd, const std::string& text, const std::string& what) {
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    throw_errno("write '{}'", what);
}

// MODRT_TEST_KILL_AT_EVENT=N: the crash tests' hook. modrt SIGKILLs itself right after the N-th
// journal event reached the file, so a test can stop a run between any two durable steps.
long kill_at_event() {
  static const long n = [] {
    const char* v = ::getenv("MODRT_TEST_KILL_AT_EVENT");
    return v ? std::strtol(v, nullptr, 10) : 0L;
  }();
  return n;
}
long events_written = 0;

}  // namespace

ProcessIdentity ProcessIdentity::self() {
  return {::getpid(), start_time_of(::getpid())};
}

unsigned long long ProcessIdentity::start_time_of(pid_t pid) {
  std::string text;
  try {
    text = read_file("/proc/" + std::to_string(pid) + "/stat");
  } catch (const Error&) {
    return 0;
  }
  // The command name may hold spaces and parentheses; fields are counted after the last ')'.
  size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  size_t pos = close + 2;
  for (int field = 3; field < 22 && pos < text.size(); ++field) {
    pos = text.find(' ', pos);
    if (pos == std::string::npos) return 0;
    ++pos;
  }
  return std::strtoull(text.c_str() + std::min(pos, text.size()), nullptr, 10);
}

bool ProcessIdentity::alive() const {
  return pid > 0 && start_time != 0 && start_time_of(pid) == start_time;
}

bool ProcessIdentity::kill() const {
  if (pid <= 0 || start_time == 0) return false;
  // The pidfd pins this pid: once it is open, a check of the start time holds until the kill.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd || start_time_of(pid) != start_time) return false;
  return ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0) == 0;
}

ContainerName ContainerName::parse(std::string_view text, std::string_view what) {
  if (!is_valid_name(text))
    throw ConfigError(
        fmt::format("{}: '{}' is not a valid container name (letters, digits, '_', '.', '-'; at "
                    "most 64; starts with a letter or digit)",
                    what, text));
  return ContainerName(std::string(text));
}

StateRoot StateRoot::open(const fs::path& path, bool create) {
  if (create && ::mkdir(path.c_str(), 0700) < 0 && errno != EEXIST) {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) throw Error(fmt::format("create state root '{}': {}", path.string(), ec.message()));
    ::chmod(path.c_str(), 0700);
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (!create && errno == ENOENT) return StateRoot(path, UniqueFd());
    throw_errno("open state root '{}'", path.string());
  }
  return StateRoot(path, UniqueFd(fd));
}

namespace {

std::vector<std::string> list_dirs(int root_fd) {
  std::vector<std::string> out;
  if (root_fd < 0) return out;
  int listing = ::openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (listing < 0) throw_errno("list the state root");
  DIR* stream = ::fdopendir(listing);
  if (!stream) {
    ::close(listing);
    throw_errno("list the state root");
  }
  while (dirent* e = ::readdir(stream))
    if (e->d_type == DT_DIR) out.emplace_back(e->d_name);
  ::closedir(stream);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<std::string> StateRoot::runs() const {
  std::vector<std::string> out;
  for (auto& name : list_dirs(fd()))
    if (is_valid_name(name)) out.push_back(std::move(name));
  return out;
}

std::vector<std::string> StateRoot::half_made() const {
  std::vector<std::string> out;
  for (auto& name : list_dirs(fd()))
    if (name.rfind(kHalfMadePrefix, 0) == 0) out.push_back(std::move(name));
  return out;
}

std::vector<std::string> StateRoot::remove_half_made(const std::string& entry) const {
  if (entry.rfind(kHalfMadePrefix, 0) != 0 || entry.find('/') != std::string::npos)
    return {entry + ": not a half-made state dir"};
  UniqueFd dir = open_dir(fd(), entry);
  if (!dir) return {};
  if (!try_lock(dir, entry)) return {entry + ": in use by a modrt that is creating it"};
  // Only what create() writes before the rename; anything else means it is not ours to remove.
  static const std::set<std::string> known = {"state.json", "journal"};
  for (const auto& child : list_dirs(dir.get())) {
    if (child != "." && child != "..") return {entry + ": holds a directory '" + child + "'"};
  }
  int listing = ::openat(dir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (listing < 0) return {fmt::format("{}: {}", entry, std::strerror(errno))};
  DIR* stream = ::fdopendir(listing);
  if (!stream) {
    ::close(listing);
    return {fmt::format("{}: {}", entry, std::strerror(errno))};
  }
  std::vector<std::string> files;
  bool foreign = false;
  while (dirent* e = ::readdir(stream)) {
    std::string child = e->d_name;
    if (child == "." || child == "..") continue;
    if (!known.count(child) || e->d_type != DT_REG) foreign = true;
    files.push_back(child);
  }
  ::closedir(stream);
  if (foreign) return {entry + ": holds files modrt does not write there; left alone"};
  for (const auto& f : files) ::unlinkat(dir.get(), f.c_str(), 0);
  if (::unlinkat(fd(), entry.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT)
    return {fmt::format("{}: {}", entry, std::strerror(errno))};
  return {};
}

bool state_is_live(const StateRoot& root, const std::string& name) {
  if (root.fd() < 0) return false;
  UniqueFd dir = open_dir(root.fd(), name);
  if (!dir) return false;
  if (!try_lock(dir, name)) return true;  // held by its modrt
  try {
    auto record = read_record(dir.get(), name);
    return ProcessIdentity{record.value("modrt_pid", 0), record.value("modrt_start_time", 0ull)}
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

StateDir::StateDir(const StateRoot& root, std::string name, UniqueFd dir, UniqueFd journal)
    : path_(root.path() / name),
      name_(std::move(name)),
      root_fd_(root.fd()),
      dir_(std::move(dir)),
      journal_(std::move(journal)) {}

StateDir StateDir::create(const StateRoot& root, const ContainerName& name,
                          const nlohmann::json& record, const Recover& recover) {
  const std::string& final_name = name.str();
  // Build the dir under a private name, complete and locked, then rename it into place: nobody can
  // see a half-written state.json or a dir whose lock is free.
  std::string fresh = fmt::format("{}{}.{}", kHalfMadePrefix, final_name, ::getpid());
  if (::mkdirat(root.fd(), fresh.c_str(), 0700) < 0) {
    if (errno != EEXIST) throw_errno("create state dir '{}'", (root.path() / fresh).string());
    root.remove_half_made(fresh);  // left by a dead modrt that had our pid
    if (::mkdirat(root.fd(), fresh.c_str(), 0700) < 0)
      throw_errno("create state dir '{}'", (root.path() / fresh).string());
  }
  auto discard = [&] { remove_tree_at(root.fd(), fresh); };
  UniqueFd dir, journal;
  try {
    dir = open_dir(root.fd(), fresh);
    if (!dir || !try_lock(dir, fresh))
      throw Error(fmt::format("lock '{}': held by another process", fresh));
    nlohmann::json marked = record;
    marked["kind"] = kMarker;
    marked["name"] = final_name;
    UniqueFd file = open_fd_at(dir.get(), "state.json", O_WRONLY | O_CREAT | O_EXCL, 0600);
    write_all(file.get(), marked.dump(1) + "\n", "state.json");
    journal = open_fd_at(dir.get(), "journal", O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0600);
  } catch (...) {
    discard();
    throw;
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (::renameat(root.fd(), fresh.c_str(), root.fd(), final_name.c_str()) == 0)
      return StateDir(root, final_name, std::move(dir), std::move(journal));
    if (errno != EEXIST && errno != ENOTEMPTY) {
      int code = errno;
      discard();
      throw_system_error(code,
                         fmt::format("create state dir '{}'", (root.path() / final_name).string()));
    }
    if (state_is_live(root, final_name)) {
      discard();
      UniqueFd other = open_dir(root.fd(), final_name);
      throw Error(fmt::format("a container named '{}' is already running{}; pick another --name",
                              final_name, other ? describe_owner(other.get(), final_name) : ""));
    }
    try {
      StateDir stale = adopt(root, name);
      recover(stale);
      stale.remove();
    } catch (...) {
      discard();
      throw;
    }
  }
  discard();
  throw Error(fmt::format("create state dir '{}': it keeps reappearing",
                          (root.path() / final_name).string()));
}

StateDir StateDir::adopt(const StateRoot& root, const ContainerName& name) {
  const std::string& n = name.str();
  UniqueFd dir = root.fd() < 0 ? UniqueFd() : open_dir(root.fd(), n);
  if (!dir) throw Error(fmt::format("no container named '{}' in {}", n, root.path().string()));
  if (!try_lock(dir, n))
    throw Error(fmt::format("'{}' is running{}", n, describe_owner(dir.get(), n)));
  auto record = read_record(dir.get(), n);
  ProcessIdentity owner{record.value("modrt_pid", 0), record.value("modrt_start_time", 0ull)};
  if (owner.alive() && owner.pid != ::getpid())
    throw Error(fmt::format("'{}' is running (modrt pid {})", n, owner.pid));
  UniqueFd journal = open_fd_at(dir.get(), "journal", O_WRONLY | O_CREAT | O_APPEND, 0600);
  return StateDir(root, n, std::move(dir), std::move(journal));
}

StateDir::~StateDir() = default;

void StateDir::append(const std::vector<nlohmann::json>& events) const {
  if (!journal_ || events.empty()) return;
  std::string text;
  for (const auto& e : events) text += e.dump() + "\n";
  write_all(journal_.get(), text, (path_ / "journal").string());
  if (long n = kill_at_event(); n > 0) {
    events_written += static_cast<long>(events.size());
    if (events_written >= n) ::kill(::getpid(), SIGKILL);
  }
}

nlohmann::json replay_state(std::string_view state_json, std::string_view journal) {
  nlohmann::json state = nlohmann::json::parse(state_json, nullptr, false);
  check_fields(state);
  state["workload_pid"] = -1;
  state["workload_start_time"] = 0;
  auto& stages = state["stages"];
  if (!stages.is_array()) stages = nlohmann::json::array();
  for (auto& s : stages) {
    s["started"] = false;
    s["ledger"] = nlohmann::json::array();
  }
  auto is_entry = [](const nlohmann::json& e) {
    return e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string();
  };
  size_t pos = 0;
  while (pos < journal.size()) {
    size_t end = journal.find('\n', pos);
    if (end == std::string_view::npos) break;  // torn by a crash mid-write
    auto e = nlohmann::json::parse(journal.substr(pos, end - pos), nullptr, false);
    pos = end + 1;
    if (!e.is_object()) continue;
    if (auto pid = e.find("workload_pid"); pid != e.end() && pid->is_number_integer() &&
                                           pid->get<int64_t>() > 0 &&
                                           pid->get<int64_t>() <= INT32_MAX) {
      state["workload_pid"] = *pid;
      auto start = e.find("workload_start_time");
      state["workload_start_time"] =
          start != e.end() && start->is_number_unsigned() ? *start : nlohmann::json(0);
    }
    auto stage = e.find("stage");
    if (stage == e.end() || !stage->is_number_unsigned()) continue;
    size_t i = stage->get<size_t>();
    if (i >= stages.size()) continue;
    auto& ledger = stages[i]["ledger"];
    if (auto started = e.find("started"); started != e.end() && started->is_boolean())
      stages[i]["started"] = *started;
    if (auto rec = e.find("record"); rec != e.end() && is_entry(*rec)) ledger.push_back(*rec);
    if (auto gone = e.find("forget"); gone != e.end() && is_entry(*gone)) {
      for (auto it = ledger.begin(); it != ledger.end(); ++it) {
        if (*it == *gone) {
          ledger.erase(it);
          break;
        }
      }
    }
    if (auto all = e.find("ledger"); all != e.end() && all->is_array()) {
      nlohmann::json kept = nlohmann::json::array();
      for (const auto& item : *all)
        if (is_entry(item)) kept.push_back(item);
      ledger = kept;
    }
  }
  return state;
}

nlohmann::json load_state(const StateRoot& root, const std::string& name) {
  UniqueFd dir = root.fd() < 0 ? UniqueFd() : open_dir(root.fd(), name);
  if (!dir) throw Error(fmt::format("no container named '{}' in {}", name, root.path().string()));
  return replay_state(read_record(dir.get(), name).dump(), journal_of(dir.get()));
}

nlohmann::json StateDir::load() const {
  UniqueFd file = open_entry(dir_.get(), "state.json");
  if (!file) throw Error(fmt::format("read '{}': no state.json", path_.string()));
  return replay_state(read_all(file.get()), journal_of(dir_.get()));
}

void StateDir::remove() {
  if (!dir_) return;
  journal_.reset();
  std::vector<std::string> left;
  if (!same_mount(dir_.get(), root_fd_)) {
    left.push_back(name_ + ": a mount point (left alone)");
  } else {
    // state.json, the marker, goes last: a dir that could not be emptied stays recognisably
    // modrt's, for the next gc.
    for (const auto& child : list_names(dir_.get()))
      if (child != "state.json")
        for (auto& l : remove_tree_at(dir_.get(), child)) left.push_back(std::move(l));
  }
  if (left.empty()) {
    // Unlinked while the lock is held; a racing create() then finds the name free, never a dir
    // of ours that is half gone.
    if (::unlinkat(dir_.get(), "state.json", 0) < 0 && errno != ENOENT)
      left.push_back(fmt::format("state.json: {}", std::strerror(errno)));
    else if (::unlinkat(root_fd_, name_.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT)
      left.push_back(fmt::format("{}: {}", name_, std::strerror(errno)));
  }
  dir_.reset();
  if (!left.empty()) {
    std::string what;
    for (const auto& l : left) what += (what.empty() ? "" : "; ") + l;
    throw Error(fmt::format("remove state dir '{}': {}", path_.string(), what));
  }
}

void StateDir::keep() {
  journal_.reset();
  dir_.reset();
}

}  // namespace modrt
