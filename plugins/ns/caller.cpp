#include "caller.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace modrt::ns {

namespace {

// Missing files read as empty: no /etc/subuid simply grants nothing.
std::string slurp(const char* path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Bit `cap` of the CapEff line of /proc/self/status: no libcap needed for one question.
bool has_effective_capability(const std::string& status, int cap) {
  auto pos = status.find("CapEff:");
  if (pos == std::string::npos) return false;
  unsigned long long mask = std::strtoull(status.c_str() + pos + 7, nullptr, 16);
  return (mask >> cap) & 1;
}

// The helpers are setuid binaries that must not be picked up from a user-controlled PATH
// entry first: look in the system folders only.
std::string find_helper(const char* name) {
  for (const char* dir : {"/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/", "/usr/local/bin/"}) {
    std::string path = std::string(dir) + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return {};
}

}  // namespace

Caller Caller::current() {
  Caller c;
  c.uid = ::geteuid();
  c.gid = ::getegid();
  struct passwd pw_buf;
  struct passwd* pw = nullptr;
  char buf[4096];
  if (::getpwuid_r(c.uid, &pw_buf, buf, sizeof buf, &pw) == 0 && pw) c.user_name = pw->pw_name;
  std::string status = slurp("/proc/self/status");
  constexpr int kCapSetgid = 6, kCapSetuid = 7, kCapSysAdmin = 21;
  c.can_setuid = has_effective_capability(status, kCapSetuid);
  c.can_setgid = has_effective_capability(status, kCapSetgid);
  c.can_sys_admin = has_effective_capability(status, kCapSysAdmin);
  c.own_uid_map = parse_proc_map(slurp("/proc/self/uid_map"));
  c.own_gid_map = parse_proc_map(slurp("/proc/self/gid_map"));
  c.subuids = parse_subid(slurp("/etc/subuid"), c.user_name, c.uid);
  c.subgids = parse_subid(slurp("/etc/subgid"), c.user_name, c.uid);
  c.newuidmap = find_helper("newuidmap");
  c.newgidmap = find_helper("newgidmap");
  return c;
}

}  // namespace modrt::ns
