#include "cgroup_dirs.hpp"

#include <fcntl.h>
#include <sys/stat.h>

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

LiveCgroup create_cgroup(Context& ctx, const Target& target, const std::string& parent_option,
                         const std::string& name) {
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

  // Another container's rollback may remove a shared parent between our mkdir of it and of our
  // own directory; then the chain is simply made again.
  for (int attempt = 0;; ++attempt) {
    fs::path dir = base;
    for (size_t i = 0; i < chain.size(); ++i) {
      dir /= chain[i];
      bool created = make_dir(dir);
      if (created) {
        ctx.ledger().record(kLedgerParent, ledger_value(h.version, dir));
      } else if (parent_option.empty()) {
        // Made by an earlier run that is still going, or that ended while we looked: whoever ends
        // last removes it, so every run that used it tries (only when empty).
        std::string value = ledger_value(h.version, dir);
        auto known = ctx.ledger().values(kLedgerShared);
        if (std::find(known.begin(), known.end(), value) == known.end())
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
    fs::path leaf = dir / name;
    if (::mkdir(leaf.c_str(), 0755) != 0) {
      if (errno == ENOENT && attempt < 3) continue;
      if (errno == EEXIST)
        throw Error(
            fmt::format(
                "create cgroup '{}': it already exists (left by a run that was not cleaned up? "
                "`modrt gc` removes those)",
                leaf.string()),
            EEXIST);
      throw_errno("create cgroup '{}'", leaf.string());
    }
    ctx.ledger().record(kLedgerCgroup, ledger_value(h.version, leaf));
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
