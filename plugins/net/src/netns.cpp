#include "netns.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "ipam.hpp"
#include "modrt/error.hpp"
#include "modrt/process.hpp"

namespace modrt::net {

namespace fs = std::filesystem;

namespace {

// Mount points in mountinfo escape blanks and backslashes as \ooo.
std::string unescape(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size()) {
      int value = 0;
      bool octal = true;
      for (size_t j = 1; j <= 3; ++j) {
        char c = text[i + j];
        if (c < '0' || c > '7') octal = false;
        value = value * 8 + (c - '0');
      }
      if (octal) {
        out += static_cast<char>(value);
        i += 3;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

// Every path that may lead to a netns, cheapest first.
template <typename Visit>
bool each_candidate(Visit&& visit) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  for (std::string line; std::getline(mountinfo, line);) {
    auto sep = line.find(" - ");
    if (sep == std::string::npos) continue;
    std::istringstream right(line.substr(sep + 3));
    std::string fstype;
    right >> fstype;
    if (fstype != "nsfs") continue;
    std::istringstream left(line.substr(0, sep));
    std::string word;
    for (int field = 0; field < 5 && left >> word; ++field) {
    }
    if (visit(unescape(word))) return true;
  }
  std::error_code ec;
  std::vector<fs::path> pids;
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos)
      pids.push_back(it->path());
  }
  for (const auto& pid : pids)
    if (visit(pid / "ns" / "net")) return true;
  for (const auto& pid : pids) {
    std::error_code task_ec;
    for (fs::directory_iterator it(pid / "task", task_ec), end; !task_ec && it != end;
         it.increment(task_ec))
      if (visit(it->path() / "ns" / "net")) return true;
  }
  for (const auto& pid : pids) {
    std::error_code fd_ec;
    for (fs::directory_iterator it(pid / "fd", fd_ec), end; !fd_ec && it != end;
         it.increment(fd_ec)) {
      char target[64];
      ssize_t n = ::readlink(it->path().c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      target[n] = '\0';
      if (std::string_view(target).rfind("net:[", 0) == 0 && visit(it->path())) return true;
    }
  }
  return false;
}

}  // namespace

ino_t netns_inode() {
  struct stat st {};
  if (::stat("/proc/thread-self/ns/net", &st) < 0) throw_errno("stat /proc/thread-self/ns/net");
  return st.st_ino;
}

uint64_t cookie_of_netns(int fd) {
  uint64_t cookie = 0;
  run_in_namespace(fd, CLONE_NEWNET, [&] { cookie = netns_cookie(); });
  return cookie;
}

std::optional<UniqueFd> find_netns(uint64_t cookie, ino_t inode) {
  std::optional<UniqueFd> found;
  std::set<std::pair<dev_t, ino_t>> tried;
  each_candidate([&](const fs::path& path) {
    struct stat st {};
    // stat follows the magic link to the nsfs inode; the inode number filters before any setns.
    if (::stat(path.c_str(), &st) < 0 || (inode != 0 && st.st_ino != inode)) return false;
    if (!tried.insert({st.st_dev, st.st_ino}).second) return false;
    int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (raw < 0) return false;
    UniqueFd fd(raw);
    if (::ioctl(fd.get(), NS_GET_NSTYPE) != CLONE_NEWNET) return false;
    try {
      if (cookie_of_netns(fd.get()) != cookie) return false;
    } catch (const Error&) {
      return false;
    }
    found = std::move(fd);
    return true;
  });
  return found;
}

}  // namespace modrt::net
