#include "modrt/process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <unistd.h>

#include <exception>
#include <thread>

#include "modrt/error.hpp"

namespace modrt {

void switch_user(Context& ctx) {
  if (ctx.user_switched) return;
  const User& user = ctx.process.user;
  // Groups first: once the uid changes, the process may no longer change its groups. setgroups() is
  // denied in a user namespace whose gid_map was written with setgroups=deny; skip it there when
  // there is nothing to set.
  if (!user.additional_gids.empty() || ::getgroups(0, nullptr) > 0) {
    std::vector<gid_t> groups(user.additional_gids.begin(), user.additional_gids.end());
    if (::setgroups(groups.size(), groups.data()) < 0 && !(errno == EPERM && groups.empty()))
      throw_errno("setgroups({} groups)", groups.size());
  }
  if (::setresgid(user.gid, user.gid, user.gid) < 0) throw_errno("setgid {}", user.gid);
  if (::setresuid(user.uid, user.uid, user.uid) < 0) throw_errno("setuid {}", user.uid);
  ctx.user_switched = true;
}

void run_in_namespace(int ns_fd, int ns_type, const std::function<void()>& fn) {
  std::exception_ptr failure;
  // A fresh thread joins the namespace and dies with it, so the caller's thread (and with it every
  // later netlink socket or file the caller opens) stays in the namespaces it started in.
  std::thread worker([&] {
    try {
      if (::setns(ns_fd, ns_type) < 0) throw_errno("setns");
      fn();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  worker.join();
  if (failure) std::rethrow_exception(failure);
}

UniqueFd open_namespace(pid_t pid, const char* kind) {
  std::string path = fmt::format("/proc/{}/ns/{}", pid, kind);
  return open_fd(path.c_str(), O_RDONLY);
}

}  // namespace modrt
