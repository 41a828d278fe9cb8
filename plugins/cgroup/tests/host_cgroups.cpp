#include "host_cgroups.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

namespace modrt::cgroup::test {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, sep);) out.push_back(item);
  return out;
}

std::vector<std::string> lines_of(const char* path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

std::string own_cgroup_path(const std::string& controller) {
  std::string own;
  for (const auto& line : lines_of("/proc/self/cgroup")) {
    auto parts = split(line, ':');
    if (parts.size() < 3) continue;
    auto names = split(parts[1], ',');
    bool match = controller.empty() ? parts[1].empty() : false;
    for (const auto& n : names) match = match || n == controller;
    if (match) own = line.substr(parts[0].size() + parts[1].size() + 2);
  }
  return own;
}

std::optional<std::string> own_cgroup_dir(const std::string& controller) {
  std::optional<std::string> own;
  if (std::string path = own_cgroup_path(controller); !path.empty()) own = path;
  if (!own) return std::nullopt;
  for (const auto& line : lines_of("/proc/self/mountinfo")) {
    auto sep = line.find(" - ");
    if (sep == std::string::npos) continue;
    auto left = split(line.substr(0, sep), ' ');
    auto right = split(line.substr(sep + 3), ' ');
    if (left.size() < 5 || right.size() < 3 || left[3] != "/") continue;
    bool match = false;
    if (controller.empty()) {
      match = right[0] == "cgroup2";
    } else if (right[0] == "cgroup") {
      for (const auto& opt : split(right[2], ',')) match = match || opt == controller;
    }
    if (match) return left[4] + (*own == "/" ? "" : *own);
  }
  return std::nullopt;
}

std::optional<std::string> hierarchy_mount(const std::string& controller) {
  auto own = own_cgroup_dir(controller);
  if (!own) return std::nullopt;
  std::string path = own_cgroup_path(controller);
  return path == "/" ? *own : own->substr(0, own->size() - path.size());
}

std::string own_dir_in_shell(const std::string& controller) {
  // The line "N:a,controller,b:/path" (or "0::/path" for cgroup2).
  std::string names = controller.empty() ? "" : "\\([^:]*,\\)\\?" + controller + "\\(,[^:]*\\)\\?";
  return hierarchy_mount(controller).value_or("/nonexistent") + "$(sed -n 's/^[0-9]*:" + names +
         ":\\(.*\\)/\\" + (controller.empty() ? "1" : "3") + "/p' /proc/self/cgroup)";
}

std::vector<std::string> container_cgroup_dirs(const std::string& controller,
                                               const std::string& name) {
  std::vector<std::string> out;
  auto own = own_cgroup_dir(controller);
  if (!own) return out;
  const std::regex leaf(name + "-[0-9a-f]{12}");
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(*own + "/modrt", ec))
    if (entry.is_directory() && std::regex_match(entry.path().filename().string(), leaf))
      out.push_back(entry.path().string());
  return out;
}

std::optional<std::string> container_cgroup_dir(const std::string& controller,
                                                const std::string& name) {
  if (!own_cgroup_dir(controller)) return std::nullopt;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    auto dirs = container_cgroup_dirs(controller, name);
    if (dirs.size() == 1) return dirs[0];
    if (dirs.size() > 1 || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace modrt::cgroup::test
