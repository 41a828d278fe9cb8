#include "ns_test.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace modrt::test::ns {

namespace {

std::string yaml_single_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string config(const std::string& name, const std::string& script, const std::string& with,
                   const std::string& extra, const std::string& user) {
  std::string yaml = "name: " + name + "\n" + extra +
                     "process:\n"
                     "  args: [/bin/sh, -c, " +
                     yaml_single_quoted(script) +
                     "]\n"
                     "  env: [PATH=/usr/sbin:/usr/bin:/sbin:/bin]\n";
  if (!user.empty()) yaml += "  user: " + user + "\n";
  yaml += "stages:\n  - plugin: ns\n    with: " + with + "\n";
  return yaml;
}

std::map<std::string, std::string> values(const std::string& out) {
  std::map<std::string, std::string> result;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    auto eq = line.find('=');
    if (eq != std::string::npos) result[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return result;
}

std::string ns_link(const std::string& path) {
  std::error_code ec;
  auto target = std::filesystem::read_symlink(path, ec);
  return ec ? "" : target.string();
}

std::string host_ns(const std::string& kind) {
  return ns_link("/proc/self/ns/" + kind);
}

std::vector<ProcInfo> processes_in(const std::string& pid_ns) {
  std::vector<ProcInfo> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (ns_link(entry.path() / "ns/pid") != pid_ns) continue;
    std::string stat = slurp(entry.path() / "stat");
    auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size())
      continue;
    out.push_back({static_cast<pid_t>(std::stoi(name)), stat[close + 2],
                   stat.substr(open + 1, close - open - 1)});
  }
  return out;
}

std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  std::istringstream in(
      slurp("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children"));
  for (pid_t child; in >> child;) out.push_back(child);
  return out;
}

std::string map_of(const std::string& path) {
  std::istringstream in(slurp(path));
  std::string out;
  for (std::string a, b, c; in >> a >> b >> c;)
    out += (out.empty() ? "" : " ") + a + ":" + b + ":" + c;
  return out;
}

}  // namespace modrt::test::ns
