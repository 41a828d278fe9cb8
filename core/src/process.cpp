#include "modrt/process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <exception>
#include <thread>

#include "modrt/error.hpp"
#include "spawn.hpp"

namespace modrt {

namespace {
// The workload's end of modrt's sync socket: a send fails once modrt is gone. The workload is
// single-threaded until its exec, so a plain global is enough.
int parent_watch_fd = -1;
}  // namespace

void watch_parent(int sync_fd) {
  parent_watch_fd = sync_fd;
}

void keep_parent_death_signal() {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // A one-byte message the parent ignores: it fails with EPIPE when modrt died before the line
  // above, and sendto is a call the workload makes anyway (a strict seccomp profile allows it).
  if (parent_watch_fd >= 0 && ::send(parent_watch_fd, "P", 1, MSG_NOSIGNAL) < 0 &&
      (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN))
    ::_exit(125);
}

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
  keep_parent_death_signal();
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
