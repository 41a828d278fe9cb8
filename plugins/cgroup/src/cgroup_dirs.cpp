#include "cgroup_dirs.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "modrt/error.hpp"

namespace modrt::cgroup {

namespace fs = std::filesystem;

std::string ledger_value(Version v, const fs::path& path) {
  return fmt::format("{} {}", to_string(v), path.string());
}

bool parse_ledger_value(const std::string& value, Version& v, fs::path& path) {
  if (value.size() < 4 || value[2] != ' ') return false;
  if (value.compare(0, 2, "v2") == 0)
    v = Version::v2;
  else if (value.compare(0, 2, "v1") == 0)
    v = Version::v1;
  else
    return false;
  path = value.substr(3);
  return path.is_absolute();
}

namespace {

UniqueFd open_dir(const fs::path& path) {
  return open_fd(path.c_str(), O_RDONLY | O_DIRECTORY);
}

// mkdir that tells "made it" from "was there"; anything else throws.
bool make_dir(const fs::path& path) {
  if (::mkdir(path.c_str(), 0755) == 0) return true;
  if (errno == EEXIST) return false;
  throw_errno("create cgroup '{}'", path.string());
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// A fresh v1 cpuset cgroup has empty cpus and mems, and no task may join it until both are set:
// inherit the parent's.
void inherit_cpuset(const fs::path& dir, const std::vector<FileWrite>& configured) {
  UniqueFd fd = open_dir(dir);
  UniqueFd parent = open_dir(dir.parent_path());
  for (const char* file : {"cpuset.mems", "cpuset.cpus"}) {
    bool set_by_config = false;
    for (const auto& w : configured) set_by_config = set_by_config || w.file == file;
    if (set_by_config) continue;
    with_context(fmt::format("copy {} from '{}'", file, dir.parent_path().string()),
                 [&] { write_file_at(fd.get(), file, trim(read_file_at(parent.get(), file))); });
  }
}

std::string enable_line(const std::set<std::string>& controllers) {
  std::string line;
  for (const auto& c : controllers) line += (line.empty() ? "+" : " +") + c;
  return line;
}

}  // namespace

std::string unique_leaf_name(const std::string& container_name) {
  unsigned char bytes[6];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("getrandom for the cgroup's name");
    got += static_cast<size_t>(n);
  }
  std::string out = container_name + "-";
  for (unsigned char b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

// Why every directory is recorded before its mkdir, and how rollback tells ours from others'.
// A record reaches the run's journal before Ledger::record returns, so a modrt killed at any
// point leaves at worst an entry whose directory was never made, never a directory no ledger
// names. Rollback (this run's, or `modrt gc`'s from the journal alone) then needs to know, for an
// entry that exists, whether this run made it:
// - The leaf carries a name drawn for this run (unique_leaf_name). If it exists, we made it: the
//   mkdir of a name nobody else uses cannot have found someone else's cgroup. So rollback kills
//   what runs in it (a dead modrt's workload) and removes it; if it does not exist, the entry goes.
// - A directory on the way (the shared "modrt" dir, the parts of `parent:`) has a fixed name that
//   other runs use as well. It is recorded only when it was missing a moment before the mkdir;
//   rollback never kills anything in such a directory and removes it only when empty (rmdir
//   refuses a cgroup that holds tasks or children), so whoever else made or uses it keeps it. The
//   only way to lose someone's directory: it was made by another hand in the moment between our
//   check and our mkdir, or after a SIGKILL in that moment, and is still empty at our rollback.
// Switching controllers on in cgroup.subtree_control, and the cpuset values a v1 cgroup inherits,
// need no entry: they are written only into directories the ledger names (or the shared "modrt"
// dir), and go with them.
LiveCgroup create_cgroup(Context& ctx, const Target& target, const std::string& parent_option,
                         const std::string& leaf_name) {
  const Hierarchy& h = target.hierarchy;
  const bool v2 = h.version == Version::v2;
  const bool cpuset_v1 = !v2 && h.has("cpuset");
  // Default: <own>/modrt/<name>, beneath whatever accounting modrt itself is under.
  fs::path base = parent_option.empty() ? h.own_dir() : h.mount;
  std::vector<std::string> chain;
  if (parent_option.empty()) {
    chain.push_back("modrt");
  } else {
    for (auto part : split(parent_option, '/'))
      if (!part.empty()) chain.emplace_back(part);
  }
  auto recorded = [&](const char* kind, const std::string& value) {
    auto known = ctx.ledger().values(kind);
    return std::find(known.begin(), known.end(), value) != known.end();
  };

  // Another container's rollback may remove a shared parent between our mkdir of it and of our
  // own directory; then the chain is simply made again.
  for (int attempt = 0;; ++attempt) {
    fs::path dir = base;
    for (size_t i = 0; i < chain.size(); ++i) {
      dir /= chain[i];
      std::string value = ledger_value(h.version, dir);
      bool created = false;
      if (::access(dir.c_str(), F_OK) != 0) {
        const bool known = recorded(kLedgerParent, value);
        if (!known) ctx.ledger().record(kLedgerParent, value);
        created = make_dir(dir);
        // Someone made it between our check and our mkdir: not ours.
        if (!created && !known) ctx.ledger().forget(kLedgerParent, value);
      }
      if (!created && parent_option.empty() && !recorded(kLedgerShared, value) &&
          !recorded(kLedgerParent, value)) {
        // Made by an earlier run that is still going, or that ended while we looked: whoever ends
        // last removes it, so every run that used it tries (only when empty).
        ctx.ledger().record(kLedgerShared, value);
      }
      if (cpuset_v1 && created) inherit_cpuset(dir, {});
      // Controllers go down only through cgroups that are ours: the ones just made, and the
      // "modrt" directory every run shares. The cgroup above them (modrt's own, or an existing
      // part of `parent`) must already delegate them; it is never written.
      if (v2 && !target.controllers.empty() && (created || parent_option.empty())) {
        UniqueFd fd = open_dir(dir);
        with_context(
            fmt::format("enable controllers in '{}/cgroup.subtree_control'", dir.string()), [&] {
              write_file_at(fd.get(), "cgroup.subtree_control", enable_line(target.controllers));
            });
      }
    }
    fs::path leaf = dir / leaf_name;
    std::string value = ledger_value(h.version, leaf);
    ctx.ledger().record(kLedgerCgroup, value);
    if (::mkdir(leaf.c_str(), 0755) != 0) {
      int code = errno;
      ctx.ledger().forget(kLedgerCgroup, value);  // nothing was made
      if (code == ENOENT && attempt < 3) continue;
      throw_system_error(code, fmt::format("create cgroup '{}'", leaf.string()));
    }
    LiveCgroup out{h.version, leaf, open_dir(leaf), target.controllers};
    if (cpuset_v1) inherit_cpuset(leaf, target.writes);
    write_limits(out, target.writes);
    return out;
  }
}

void write_limits(const LiveCgroup& cgroup, const std::vector<FileWrite>& writes) {
  for (const auto& w : writes) {
    std::string file = w.file;
    if (!w.alt_file.empty() && ::faccessat(cgroup.dir.get(), file.c_str(), F_OK, 0) != 0)
      file = w.alt_file;
    try {
      write_file_at(cgroup.dir.get(), file.c_str(), w.value);
    } catch (const Error& e) {
      std::string hint;
      if (e.error_code() == ENOENT)
        hint = fmt::format(" (the {} controller is not enabled for this cgroup)", w.controller);
      throw Error(fmt::format("{}: set {} = '{}' in '{}': {}{}", w.key, file, w.value,
                              cgroup.path.string(), e.what(), hint),
                  e.error_code());
    }
  }
}

}  // namespace modrt::cgroup
