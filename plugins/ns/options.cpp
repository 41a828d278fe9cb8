#include "options.hpp"

#include <sched.h>

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "id_map.hpp"
#include "join.hpp"
#include "modrt/error.hpp"
#include "modrt/units.hpp"

namespace modrt::ns {

namespace {

constexpr size_t kMaxUtsName = 64;  // __NEW_UTS_LEN

uint64_t default_namespaces() {
  uint64_t flags = 0;
  for (const auto& kind : all_kinds())
    if (kind.flag != CLONE_NEWTIME) flags |= kind.flag;
  return flags;
}

std::vector<JoinTarget> parse_joins(const ConfigNode& node, const Config& config,
                                    const Caller& caller) {
  std::vector<JoinTarget> joins;
  for (const auto& [name, value] : node.entries()) {
    auto kind = find_kind(name);
    if (!kind)
      value.fail(fmt::format("unknown namespace '{}'; expected one of: {}", name, kind_names()));
    std::string path = config.resolve(value.as_string()).string();
    try {
      NamespaceFile file = open_namespace_file(path, *kind);
      if (kind->flag == CLONE_NEWUSER && !caller.can_sys_admin && file.owner_uid != caller.uid)
        value.fail(
            fmt::format("user namespace '{}' belongs to uid {}; without privileges uid {} can "
                        "join only user namespaces it created",
                        path, file.owner_uid, caller.uid));
    } catch (const ConfigError&) {
      throw;
    } catch (const Error& e) {
      value.fail(e.what());
    }
    joins.push_back({*kind, std::move(path)});
  }
  std::sort(joins.begin(), joins.end(), [](const JoinTarget& a, const JoinTarget& b) {
    auto rank = [](const JoinTarget& j) {
      const auto& kinds = all_kinds();
      return std::find_if(kinds.begin(), kinds.end(),
                          [&](const NamespaceKind& k) { return k.flag == j.kind.flag; }) -
             kinds.begin();
    };
    return rank(a) < rank(b);
  });
  return joins;
}

uint64_t parse_namespace_list(const ConfigNode& node, uint64_t joined) {
  uint64_t flags = 0;
  for (const auto& item : node.items()) {
    std::string name = item.as_string();
    auto kind = find_kind(name);
    if (!kind)
      item.fail(fmt::format("unknown namespace '{}'; expected one of: {}", name, kind_names()));
    if (flags & kind->flag) item.fail(fmt::format("'{}' is listed twice", name));
    if (joined & kind->flag)
      item.fail(
          fmt::format("'{}' is both created here and joined (join.{}); keep one", name, name));
    flags |= kind->flag;
  }
  return flags;
}

std::vector<IdMapping> parse_map(const ConfigNode& node) {
  std::vector<IdMapping> map;
  for (const auto& item : node.items()) {
    item.expect_keys({"container", "host", "size"});
    IdMapping m;
    m.container = static_cast<uint32_t>(item.require("container").as_uint(kIdLimit - 1));
    m.host = static_cast<uint32_t>(item.require("host").as_uint(kIdLimit - 1));
    if (auto size = item.find("size"))
      m.size = static_cast<uint32_t>(size->as_uint(kIdLimit));
    else
      m.size = 1;
    map.push_back(m);
  }
  if (map.empty()) node.fail("an empty map leaves every id unmapped; give at least one line");
  if (auto problem = check_map(map))
    node.items()[std::min(problem->index, map.size() - 1)].fail(problem->message);
  return map;
}

// Root (or whoever holds CAP_SETUID) maps its own id space one to one; an unprivileged caller
// maps root to itself and, when /etc/subuid grants a range, ids from 1 up onto that range.
std::vector<IdMapping> default_map(bool privileged, const std::vector<IdMapping>& own_map,
                                   uint32_t own_id, const std::vector<IdRange>& granted) {
  std::vector<IdMapping> map;
  if (privileged) {
    for (const auto& m : own_map) map.push_back({m.container, m.container, m.size});
    return map;
  }
  map.push_back({0, own_id, 1});
  if (!granted.empty()) {
    uint64_t size = std::min<uint64_t>(granted.front().count, kIdLimit - 1);
    map.push_back({1, static_cast<uint32_t>(granted.front().start), static_cast<uint32_t>(size)});
  }
  return map;
}

std::string describe(const std::vector<IdRange>& ranges) {
  if (ranges.empty()) return "none";
  std::vector<std::string> parts;
  for (const auto& r : ranges) parts.push_back(fmt::format("{}..{}", r.start, r.end() - 1));
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::string describe_map(const std::vector<IdMapping>& map) {
  std::vector<std::string> parts;
  for (const auto& m : map) parts.push_back(fmt::format("{}:{}:{}", m.container, m.host, m.size));
  return fmt::format("{}", fmt::join(parts, " "));
}

std::vector<IdRange> container_ranges(const std::vector<IdMapping>& map) {
  std::vector<IdRange> out;
  for (const auto& m : map) out.push_back({m.container, m.size});
  return out;
}

struct IdKind {
  const char* key;         // uid_map / gid_map
  const char* id;          // uid / gid
  const char* subid_file;  // /etc/subuid
  const char* helper;      // newuidmap
};

// Checks that the caller may map each line's host ids, and picks how the map gets written.
MapMethod check_ownership(const std::optional<ConfigNode>& node, const std::vector<IdMapping>& map,
                          const IdKind& what, bool privileged, uint32_t own_id,
                          const std::vector<IdMapping>& own_map,
                          const std::vector<IdRange>& granted, const std::string& helper,
                          const ConfigNode& with) {
  auto fail_at = [&](size_t index, const std::string& message) {
    if (node) node->items()[index].fail(message);
    with.fail(fmt::format("default {}: {}", what.key, message));
  };
  for (size_t i = 0; i < map.size(); ++i) {
    const IdMapping& m = map[i];
    uint64_t last = uint64_t{m.host} + m.size - 1;
    if (privileged) {
      if (!covered(inside_ranges(own_map), m.host, m.size))
        fail_at(i, fmt::format("host {}s {}..{} do not exist in modrt's own user namespace "
                               "(it has {})",
                               what.id, m.host, last, describe(inside_ranges(own_map))));
      continue;
    }
    bool self = m.size == 1 && m.host == own_id;
    if (!self && !covered(granted, m.host, m.size))
      fail_at(i, fmt::format("host {}s {}..{} are not yours to map: {} {} may map only itself and "
                             "the ranges {} grants it ({})",
                             what.id, m.host, last, what.id, own_id, what.subid_file,
                             describe(granted)));
  }
  bool self_only = map.size() == 1 && map[0].size == 1 && map[0].host == own_id;
  if (privileged || self_only) return MapMethod::direct;
  if (helper.empty()) {
    std::string message = fmt::format(
        "mapping more than your own {} needs {} (package uidmap), which is not installed", what.id,
        what.helper);
    if (node) node->fail(message);
    with.fail(fmt::format("default {}: {}", what.key, message));
  }
  return MapMethod::helper;
}

std::chrono::nanoseconds parse_offset(const ConfigNode& node) {
  std::string text = node.as_string();
  bool negative = !text.empty() && text[0] == '-';
  auto value = parse_duration(negative ? std::string_view(text).substr(1) : std::string_view(text));
  if (!value) node.fail(fmt::format("expected a duration like 10s, 1h or -5m, got '{}'", text));
  return negative ? -*value : *value;
}

std::string parse_uts_name(const ConfigNode& node) {
  std::string name = node.as_string();
  if (name.empty()) node.fail("must not be empty");
  if (name.size() > kMaxUtsName)
    node.fail(fmt::format("is {} characters long; the kernel takes at most {}", name.size(),
                          kMaxUtsName));
  return name;
}

// Which namespaces are created and which joined, and whether the kernel can do that.
void parse_namespaces(const ConfigNode& with, const Config& config, const Caller& caller,
                      NsOptions& opts) {
  std::optional<ConfigNode> join_node = with.find("join");
  if (join_node) opts.joins = parse_joins(*join_node, config, caller);
  uint64_t joined = 0;
  for (const auto& j : opts.joins) joined |= j.kind.flag;

  std::optional<ConfigNode> list = with.find("namespaces");
  std::optional<ConfigNode> offsets = with.find("time_offsets");
  if (list) {
    opts.created = parse_namespace_list(*list, joined);
  } else {
    opts.created = default_namespaces() & ~joined;
    // Offsets only mean something in a new time namespace: asking for them asks for one.
    if (offsets && !(joined & CLONE_NEWTIME)) opts.created |= CLONE_NEWTIME;
  }
  const ConfigNode& list_or_with = list ? *list : with;

  // The kernel lets a process join a namespace only with CAP_SYS_ADMIN over the user namespace
  // that owns it. A user namespace made for this workload owns nothing that exists already.
  if (opts.creates(CLONE_NEWUSER)) {
    for (const auto& j : opts.joins) {
      if (j.kind.flag == CLONE_NEWPID) continue;  // joined by modrt itself, before the clone
      join_node->find(j.kind.name)
          ->fail(fmt::format("cannot be joined from a new user namespace: the kernel requires "
                             "CAP_SYS_ADMIN over the {} namespace's owner, which a new user "
                             "namespace never has; also join its user namespace (join.user) or "
                             "remove 'user' from namespaces",
                             j.kind.name));
    }
  }
  if (opts.joined(CLONE_NEWUSER) && opts.creates(CLONE_NEWPID))
    list_or_with.fail(
        "a new pid namespace cannot be combined with joining a user namespace: it would belong to "
        "modrt's user namespace, so the workload could not mount its /proc; join a pid namespace "
        "too (join.pid) or remove 'pid' from namespaces");
  if (opts.joined(CLONE_NEWPID) && !caller.can_sys_admin)
    join_node->find("pid")->fail(
        "joining a pid namespace needs CAP_SYS_ADMIN: modrt itself enters it before the workload "
        "is created");
  bool has_user = opts.creates(CLONE_NEWUSER) || opts.joined(CLONE_NEWUSER);
  if (!caller.can_sys_admin && !has_user && (opts.created != 0 || !opts.joins.empty()))
    list_or_with.fail(fmt::format(
        "uid {} is not privileged: creating or joining namespaces needs a user namespace too "
        "('user' in namespaces, or join.user)",
        caller.uid));
}

// The user namespace's maps, how they get written, and whether process.user fits in them.
void parse_maps(const ConfigNode& with, const Config& config, const Caller& caller,
                NsOptions& opts) {
  std::optional<ConfigNode> uid_node = with.find("uid_map");
  std::optional<ConfigNode> gid_node = with.find("gid_map");
  for (const auto& node : {uid_node, gid_node}) {
    if (!node) continue;
    if (opts.joined(CLONE_NEWUSER))
      node->fail("the joined user namespace (join.user) already has its maps; remove this");
    if (!opts.creates(CLONE_NEWUSER))
      node->fail("needs a new user namespace: add 'user' to namespaces");
  }
  if (opts.creates(CLONE_NEWUSER)) {
    MapPlan& plan = opts.maps;
    plan.uid_map =
        uid_node ? parse_map(*uid_node)
                 : default_map(caller.can_setuid, caller.own_uid_map, caller.uid, caller.subuids);
    plan.gid_map =
        gid_node ? parse_map(*gid_node)
                 : default_map(caller.can_setgid, caller.own_gid_map, caller.gid, caller.subgids);
    // A grant that holds the user's own id makes the default map overlap itself.
    for (auto [node, map, key] : {std::tuple{&uid_node, &plan.uid_map, "uid_map"},
                                  std::tuple{&gid_node, &plan.gid_map, "gid_map"}}) {
      if (*node) continue;
      if (auto problem = check_map(*map))
        with.fail(fmt::format("default {} ({}): {}; give {} explicitly", key, describe_map(*map),
                              problem->message, key));
    }
    plan.newuidmap = caller.newuidmap;
    plan.newgidmap = caller.newgidmap;
    plan.uid_method = check_ownership(
        uid_node, plan.uid_map, {"uid_map", "uid", "/etc/subuid", "newuidmap"}, caller.can_setuid,
        caller.uid, caller.own_uid_map, caller.subuids, caller.newuidmap, with);
    plan.gid_method = check_ownership(
        gid_node, plan.gid_map, {"gid_map", "gid", "/etc/subgid", "newgidmap"}, caller.can_setgid,
        caller.gid, caller.own_gid_map, caller.subgids, caller.newgidmap, with);
    // Without CAP_SETGID the kernel takes a self-map of the gid only once setgroups is denied
    // for good (otherwise dropping a group could grant access).
    plan.deny_setgroups = plan.gid_method == MapMethod::direct && !caller.can_setgid;

    // The core switches to process.user right before exec: each id must exist inside.
    const User& user = config.process.user;
    auto unmapped = [&](const std::string& what, uint32_t id, const std::vector<IdMapping>& map,
                        const char* key) {
      with.fail(fmt::format("process.user.{} {} is not mapped by {} (it maps container ids {})",
                            what, id, key, describe(container_ranges(map))));
    };
    if (!map_to_host(plan.uid_map, user.uid)) unmapped("uid", user.uid, plan.uid_map, "uid_map");
    if (!map_to_host(plan.gid_map, user.gid)) unmapped("gid", user.gid, plan.gid_map, "gid_map");
    for (uint32_t g : user.additional_gids)
      if (!map_to_host(plan.gid_map, g)) unmapped("additional_gids", g, plan.gid_map, "gid_map");
    if (plan.deny_setgroups && !user.additional_gids.empty())
      with.fail(fmt::format(
          "process.user.additional_gids cannot be set: an unprivileged gid_map self-map needs "
          "setgroups denied; grant uid {} a range in /etc/subgid (newgidmap) or drop them",
          caller.uid));
  }
}

void parse_uts(const ConfigNode& with, const Config& config, NsOptions& opts) {
  const std::optional<ConfigNode> list = with.find("namespaces");
  const ConfigNode& list_or_with = list ? *list : with;
  if (auto node = with.find("hostname")) {
    opts.hostname = parse_uts_name(*node);
    if (!opts.creates(CLONE_NEWUTS))
      node->fail("needs a new uts namespace ('uts' in namespaces): it would rename the host");
  } else if (!config.hostname.empty()) {
    if (!opts.creates(CLONE_NEWUTS))
      list_or_with.fail(
          fmt::format("the config's hostname '{}' needs a new uts namespace ('uts' "
                      "in namespaces); remove it or add 'uts'",
                      config.hostname));
    opts.hostname = config.hostname;
  }
  if (auto node = with.find("domainname")) {
    opts.domainname = parse_uts_name(*node);
    if (!opts.creates(CLONE_NEWUTS))
      node->fail("needs a new uts namespace ('uts' in namespaces): it would rename the host");
  }
}

void parse_time(const ConfigNode& with, NsOptions& opts) {
  std::optional<ConfigNode> offsets = with.find("time_offsets");
  if (offsets) {
    if (!opts.creates(CLONE_NEWTIME))
      offsets->fail("needs a new time namespace ('time' in namespaces)");
    offsets->expect_keys({"monotonic", "boottime"});
    if (auto m = offsets->find("monotonic")) opts.time_offsets.monotonic = parse_offset(*m);
    if (auto b = offsets->find("boottime")) opts.time_offsets.boottime = parse_offset(*b);
  }
}

}  // namespace

const JoinTarget* NsOptions::joined(uint64_t flag) const {
  for (const auto& j : joins)
    if (j.kind.flag == flag) return &j;
  return nullptr;
}

NsOptions parse_options(const ConfigNode& with, const Config& config, const Caller& caller) {
  with.expect_keys({"namespaces", "join", "uid_map", "gid_map", "hostname", "domainname",
                    "time_offsets", "init"});
  NsOptions opts;
  parse_namespaces(with, config, caller, opts);
  parse_maps(with, config, caller, opts);
  parse_uts(with, config, opts);
  parse_time(with, opts);
  opts.init = with.bool_or("init", false);
  return opts;
}

}  // namespace modrt::ns
