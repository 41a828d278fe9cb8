#include "map_writer.hpp"

#include <spawn.h>
#include <sys/wait.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "id_map.hpp"
#include "modrt/error.hpp"
#include "modrt/fd.hpp"

namespace modrt::ns {

namespace {

std::string read_to_end(int fd) {
  std::string out;
  char buf[1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Runs a uidmap helper to completion; its stderr becomes the error message when it fails.
void run_helper(const std::string& helper, pid_t pid, const std::vector<IdMapping>& map) {
  std::vector<std::string> args{helper, std::to_string(pid)};
  for (auto& a : helper_args(map)) args.push_back(std::move(a));
  std::string command = fmt::format("{}", fmt::join(args, " "));
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  FdPair err = make_pipe();
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, err.second.get(), STDERR_FILENO);
  // A setuid helper gets no environment of ours: nothing it could be tricked by.
  char* no_env[] = {nullptr};
  pid_t child = -1;
  int rc = ::posix_spawn(&child, helper.c_str(), &actions, nullptr, argv.data(), no_env);
  ::posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw_system_error(rc, fmt::format("run '{}'", command));
  err.second.reset();
  std::string message = trim(read_to_end(err.first.get()));
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) throw_errno("wait for '{}'", command);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  std::string how = WIFEXITED(status) ? fmt::format("exit code {}", WEXITSTATUS(status))
                                      : fmt::format("killed by signal {}", WTERMSIG(status));
  throw Error(
      fmt::format("'{}' failed ({}){}{}", command, how, message.empty() ? "" : ": ", message));
}

void write_map(pid_t pid, const char* file, const std::vector<IdMapping>& map, MapMethod method,
               const std::string& helper) {
  if (method == MapMethod::helper) return run_helper(helper, pid, map);
  std::string path = fmt::format("/proc/{}/{}", pid, file);
  // One write() holding every line: the kernel accepts a map exactly once.
  write_file(path, format_map(map));
}

}  // namespace

void write_id_maps(pid_t pid, const MapPlan& plan) {
  with_context("write uid_map",
               [&] { write_map(pid, "uid_map", plan.uid_map, plan.uid_method, plan.newuidmap); });
  if (plan.deny_setgroups && plan.gid_method == MapMethod::direct)
    write_file(fmt::format("/proc/{}/setgroups", pid), "deny");
  with_context("write gid_map",
               [&] { write_map(pid, "gid_map", plan.gid_map, plan.gid_method, plan.newgidmap); });
}

}  // namespace modrt::ns
