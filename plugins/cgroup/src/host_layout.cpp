#include "host_layout.hpp"

#include <fcntl.h>

#include <cctype>
#include <map>

#include <fmt/format.h>

#include "modrt/error.hpp"
#include "modrt/fd.hpp"

namespace modrt::cgroup {

const char* to_string(Version v) {
  return v == Version::v2 ? "v2" : "v1";
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t end = text.find(sep, start);
    out.push_back(
        text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

std::set<std::string> split_words(std::string_view text) {
  std::set<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) out.emplace(text.substr(start, i - start));
  }
  return out;
}

std::string unescape_mount_path(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() &&
        std::isdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isdigit(static_cast<unsigned char>(text[i + 2])) &&
        std::isdigit(static_cast<unsigned char>(text[i + 3]))) {
      out.push_back(static_cast<char>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 +
                                      (text[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

namespace {

// "/a/b" relative to a mount whose root is "/a" -> "b"; nullopt when the mount does not show it.
std::optional<std::string> relative_to_root(std::string_view path, std::string_view root) {
  if (root == "/")
    return std::string(path.substr(path.find_first_not_of('/') == std::string_view::npos
                                       ? path.size()
                                       : path.find_first_not_of('/')));
  if (path.substr(0, root.size()) != root) return std::nullopt;
  std::string_view rest = path.substr(root.size());
  if (!rest.empty() && rest[0] != '/') return std::nullopt;
  while (!rest.empty() && rest[0] == '/') rest.remove_prefix(1);
  return std::string(rest);
}

}  // namespace

HostLayout parse_layout(std::string_view mountinfo, std::string_view proc_self_cgroup) {
  // Our cgroup per hierarchy, keyed by the sorted controller list ("" for cgroup2).
  std::map<std::set<std::string>, std::string> own_v1;
  std::optional<std::string> own_v2;
  for (std::string_view line : split(proc_self_cgroup, '\n')) {
    auto first = line.find(':');
    if (first == std::string_view::npos) continue;
    auto second = line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    std::string_view controllers = line.substr(first + 1, second - first - 1);
    std::string path(line.substr(second + 1));
    if (controllers.empty()) {
      own_v2 = path;
    } else {
      std::set<std::string> set;
      for (auto c : split(controllers, ',')) set.emplace(c);
      own_v1[set] = path;
    }
  }

  HostLayout layout;
  std::set<std::set<std::string>> seen_v1;
  for (std::string_view line : split(mountinfo, '\n')) {
    auto dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    auto left = split(line.substr(0, dash), ' ');
    auto right = split(line.substr(dash + 3), ' ');
    if (left.size() < 5 || right.size() < 3) continue;
    std::string_view fstype = right[0];
    std::string root = unescape_mount_path(left[3]);
    std::string mountpoint = unescape_mount_path(left[4]);
    if (fstype == "cgroup2") {
      if (layout.unified || !own_v2) continue;  // the first mount of it is the one we use
      auto rel = relative_to_root(*own_v2, root);
      if (!rel) continue;
      Hierarchy h;
      h.version = Version::v2;
      h.mount = mountpoint;
      h.own = *rel;
      layout.unified = h;
    } else if (fstype == "cgroup") {
      std::set<std::string> controllers;
      for (auto opt : split(right[2], ',')) {
        if (opt != "rw" && opt != "ro" && opt != "none" &&
            opt.find('=') == std::string_view::npos && opt != "noprefix" &&
            opt != "clone_children" && opt != "xattr" && opt != "cpuset_v2_mode" &&
            opt != "favordynmods" && opt != "nsdelegate" && opt != "memory_recursiveprot")
          controllers.emplace(opt);
      }
      if (controllers.empty() || seen_v1.count(controllers)) continue;
      // /proc/self/cgroup lists a named hierarchy's name with its controllers; match on
      // controllers.
      std::optional<std::string> own;
      for (const auto& [set, path] : own_v1) {
        std::set<std::string> plain;
        for (const auto& c : set)
          if (c.substr(0, 5) != "name=") plain.insert(c);
        if (plain == controllers) own = path;
      }
      if (!own) continue;
      auto rel = relative_to_root(*own, root);
      if (!rel) continue;
      Hierarchy h;
      h.version = Version::v1;
      h.mount = mountpoint;
      h.controllers = controllers;
      h.own = *rel;
      layout.v1.push_back(std::move(h));
      seen_v1.insert(controllers);
    }
  }
  return layout;
}

const Hierarchy* HostLayout::v1_for(std::string_view controller) const {
  for (const auto& h : v1)
    if (h.has(controller)) return &h;
  return nullptr;
}

std::set<std::string> HostLayout::v2_offered() const {
  if (!unified) return {};
  return unified->delegated;
}

std::set<std::string> HostLayout::v2_undelegated() const {
  std::set<std::string> out;
  if (!unified) return out;
  for (const auto& c : unified->controllers)
    if (!unified->delegated.count(c)) out.insert(c);
  return out;
}

std::string HostLayout::describe() const {
  std::string out;
  if (unified) {
    auto words = [](const std::set<std::string>& set) {
      std::string list;
      for (const auto& c : set) list += (list.empty() ? "" : " ") + c;
      return list;
    };
    out = fmt::format("cgroup2 at {} delegates [{}]", unified->own_dir().string(),
                      words(v2_offered()));
    if (auto held = v2_undelegated(); !held.empty()) out += fmt::format(", not [{}]", words(held));
  } else {
    out = "no cgroup2 mount";
  }
  if (v1.empty()) return out + "; no v1 hierarchies";
  out += "; v1:";
  for (const auto& h : v1) {
    std::string list;
    for (const auto& c : h.controllers) list += (list.empty() ? "" : ",") + c;
    out += fmt::format(" {} at {}", list, h.mount.string());
  }
  return out;
}

HostLayout detect_layout() {
  HostLayout layout =
      parse_layout(read_file("/proc/self/mountinfo"), read_file("/proc/self/cgroup"));
  if (layout.unified) {
    UniqueFd dir = open_fd(layout.unified->own_dir().c_str(), O_RDONLY | O_DIRECTORY);
    layout.unified->controllers = split_words(read_file_at(dir.get(), "cgroup.controllers"));
    layout.unified->delegated = split_words(read_file_at(dir.get(), "cgroup.subtree_control"));
  }
  return layout;
}

}  // namespace modrt::cgroup
