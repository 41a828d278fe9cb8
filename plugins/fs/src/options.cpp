#include "options.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "modrt/error.hpp"
#include "resolve.hpp"

namespace modrt::fs {

namespace stdfs = std::filesystem;

const std::vector<std::string>& default_masked_paths() {
  static const std::vector<std::string> paths{
      "/proc/acpi",       "/proc/asound",      "/proc/interrupts",
      "/proc/kcore",      "/proc/keys",        "/proc/latency_stats",
      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
      "/proc/scsi",       "/sys/firmware",     "/sys/devices/virtual/powercap"};
  return paths;
}

const std::vector<std::string>& default_readonly_paths() {
  static const std::vector<std::string> paths{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                              "/proc/sysrq-trigger"};
  return paths;
}

std::optional<unsigned> parse_mode(const std::string& text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned mode = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return std::nullopt;
    mode = mode * 8 + static_cast<unsigned>(c - '0');
  }
  if (mode > 07777) return std::nullopt;
  return mode;
}

namespace {

enum class Kind { directory, any };

// A host path from the config, resolved against the config's folder, that must exist now.
stdfs::path existing_path(const ConfigNode& node, const Config& config, Kind kind) {
  std::string text = node.as_string();
  if (text.empty()) node.fail("expected a path, got an empty string");
  stdfs::path p = config.resolve(text);
  struct stat st {};
  if (::stat(p.c_str(), &st) < 0)
    node.fail(fmt::format("'{}' cannot be used: {}", p.string(), std::strerror(errno)));
  if (kind == Kind::directory && !S_ISDIR(st.st_mode))
    node.fail(fmt::format("'{}' is not a directory", p.string()));
  return p;
}

std::string container_path(const ConfigNode& node) {
  std::string text = node.as_string();
  if (!text.starts_with('/'))
    node.fail(fmt::format("expected an absolute path inside the container, got '{}'", text));
  if (!stays_inside(text)) node.fail(fmt::format("'{}' climbs out of the container's root", text));
  return text;
}

std::vector<std::string> container_paths(const ConfigNode& node) {
  std::vector<std::string> out;
  for (const auto& item : node.items()) out.push_back(container_path(item));
  return out;
}

Propagation parse_propagation(const ConfigNode& node) {
  std::string p = node.as_string();
  if (p == "private") return Propagation::private_;
  if (p == "slave") return Propagation::slave;
  if (p == "shared") return Propagation::shared;
  if (p == "unbindable") return Propagation::unbindable;
  node.fail(fmt::format("expected private, slave, shared or unbindable, got '{}'", p));
}

MountSpec parse_mount(const ConfigNode& node, const Config& config) {
  node.expect_map();
  MountSpec m;
  std::string type = node.require("type").as_string();
  if (type == "bind") {
    m.type = MountSpec::Type::bind;
    node.expect_keys({"type", "source", "destination", "readonly", "recursive", "propagation",
                      "idmap", "nosuid", "nodev", "noexec"});
    m.source = existing_path(node.require("source"), config, Kind::any);
    m.recursive = node.bool_or("recursive", true);
    if (auto p = node.find("propagation")) m.propagation = parse_propagation(*p);
    m.idmap = node.bool_or("idmap", false);
  } else if (type == "tmpfs") {
    m.type = MountSpec::Type::tmpfs;
    node.expect_keys(
        {"type", "destination", "readonly", "size", "mode", "nosuid", "nodev", "noexec"});
    if (auto s = node.find("size")) {
      m.size = s->as_size();
      if (*m.size == 0) s->fail("a tmpfs needs a size above 0");
    }
    if (auto md = node.find("mode")) {
      m.mode = parse_mode(md->as_string());
      if (!m.mode) md->fail(fmt::format("expected octal permissions like 1777 or 0755"));
    }
  } else {
    node.require("type").fail(fmt::format("expected bind or tmpfs, got '{}'", type));
  }
  m.destination = container_path(node.require("destination"));
  if (split_path(m.destination).empty())
    node.require("destination").fail("cannot mount over the container's root; use `rootfs`");
  m.readonly = node.bool_or("readonly", false);
  m.nosuid = node.bool_or("nosuid", false);
  m.nodev = node.bool_or("nodev", false);
  m.noexec = node.bool_or("noexec", false);
  return m;
}

// The fs stage mounts inside a mount namespace of its own: without one, every mount would land on
// the host. The ns stage creates it, and must run first.
void require_mount_namespace(const ConfigNode& with, const Config& config) {
  size_t ns_index = config.stages.size(), fs_index = config.stages.size();
  for (size_t i = 0; i < config.stages.size(); ++i) {
    if (config.stages[i].plugin == "ns" && ns_index == config.stages.size()) ns_index = i;
    if (config.stages[i].plugin == "fs" && fs_index == config.stages.size()) fs_index = i;
  }
  const char* hint = "add `- plugin: ns` with `namespaces: [mount, ...]` before the fs stage";
  if (ns_index == config.stages.size())
    with.fail(fmt::format("the fs stage needs a mount namespace: {}", hint));
  if (ns_index > fs_index)
    with.fail(fmt::format("the ns stage must come before the fs stage: {}", hint));
  const ConfigNode& ns_with = config.stages[ns_index].with;
  if (auto join = ns_with.find("join"); join && join->find("user"))
    // The workload then makes its namespaces itself, after the clone: the mount namespace does
    // not exist yet when fs prepares (and checks) the mounts the host hands over.
    join->require("user").fail(
        "the fs stage cannot work with a joined user namespace yet (the mount namespace would be "
        "made after the clone); create the user namespace instead");
  auto list = ns_with.find("namespaces");
  if (!list) return;  // the ns stage's own default set applies; prepare checks ctx.namespaces
  for (const auto& item : list->items()) {
    std::string n = item.as_string();
    if (n == "mount" || n == "mnt") return;
  }
  list->fail(fmt::format("the fs stage needs the mount namespace in this list: {}", hint));
}

}  // namespace

FsOptions parse_options(const ConfigNode& with, const Config& config) {
  with.expect_keys(
      {"rootfs", "overlay", "readonly", "idmap", "mounts", "masked_paths", "readonly_paths"});
  require_mount_namespace(with, config);
  FsOptions opt;
  opt.rootfs = existing_path(with.require("rootfs"), config, Kind::directory);
  if (auto ov = with.find("overlay")) {
    ov->expect_keys({"lower", "upper", "work", "ephemeral", "size"});
    OverlaySpec spec;
    if (auto lower = ov->find("lower"))
      for (const auto& item : lower->items())
        spec.lower.push_back(existing_path(item, config, Kind::directory));
    auto upper = ov->find("upper");
    auto work = ov->find("work");
    if (upper && !work) upper->fail("a persistent upper needs `work:` too (same filesystem)");
    if (work && !upper) work->fail("`work:` goes with a persistent `upper:`");
    if (upper) {
      spec.upper = config.resolve(upper->as_string());
      spec.work = config.resolve(work->as_string());
      if (*spec.upper == *spec.work) work->fail("`work:` must differ from `upper:`");
    }
    if (auto eph = ov->find("ephemeral")) {
      if (upper) eph->fail("`ephemeral:` is for the default upper; this overlay has `upper:`");
      std::string v = eph->as_string();
      if (v == "memory")
        spec.ephemeral = Ephemeral::memory;
      else if (v == "disk")
        spec.ephemeral = Ephemeral::disk;
      else
        eph->fail(fmt::format("expected memory or disk, got '{}'", v));
    }
    if (auto size = ov->find("size")) {
      if (upper || spec.ephemeral != Ephemeral::memory)
        size->fail("`size:` limits the in-memory ephemeral upper only");
      spec.size = size->as_size();
      if (*spec.size == 0) size->fail("the upper needs a size above 0");
    }
    opt.overlay = std::move(spec);
  }
  opt.readonly = with.bool_or("readonly", false);
  if (auto idmap = with.find("idmap")) {
    std::string v = idmap->as_string();
    if (v == "auto")
      opt.idmap = Idmap::automatic;
    else if (v == "true" || v == "on")
      opt.idmap = Idmap::on;
    else if (v == "false" || v == "off")
      opt.idmap = Idmap::off;
    else
      idmap->fail(fmt::format("expected auto, true or false, got '{}'", v));
  }
  if (auto mounts = with.find("mounts"))
    for (const auto& item : mounts->items()) opt.mounts.push_back(parse_mount(item, config));
  opt.masked_paths = default_masked_paths();
  opt.readonly_paths = default_readonly_paths();
  if (auto m = with.find("masked_paths")) opt.masked_paths = container_paths(*m);
  if (auto r = with.find("readonly_paths")) opt.readonly_paths = container_paths(*r);
  return opt;
}

}  // namespace modrt::fs
