#include "supervise.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "modrt/error.hpp"

namespace modrt {

sigset_t forwarded_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD})
    sigaddset(&set, sig);
  return set;
}

Pty Pty::open() {
  Pty pty;
  pty.master = open_fd("/dev/ptmx", O_RDWR | O_NOCTTY);
  if (::grantpt(pty.master.get()) < 0 || ::unlockpt(pty.master.get()) < 0)
    throw_errno("unlock the pseudo-terminal");
  char name[128];
  if (::ptsname_r(pty.master.get(), name, sizeof name) != 0) throw_errno("ptsname");
  pty.slave = open_fd(name, O_RDWR | O_NOCTTY);
  winsize size{};
  if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &size) == 0) ::ioctl(pty.master.get(), TIOCSWINSZ, &size);
  return pty;
}

void Pty::attach_as_controlling_terminal() const {
  if (::setsid() < 0) throw_errno("setsid");
  if (::ioctl(slave.get(), TIOCSCTTY, 0) < 0) throw_errno("make the pty the controlling terminal");
  for (int fd = 0; fd < 3; ++fd)
    if (::dup2(slave.get(), fd) < 0) throw_errno("dup2 pty to fd {}", fd);
}

namespace {

// Puts the user's terminal in raw mode while a pty is relayed, and restores it on every path.
class RawTerminal {
 public:
  RawTerminal() {
    if (!::isatty(STDIN_FILENO) || ::tcgetattr(STDIN_FILENO, &saved_) < 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }

 private:
  termios saved_{};
  bool active_ = false;
};

// Copies what is readable from `from` to `to`; false at EOF or error on `from`.
bool pump(int from, int to) {
  char buf[16384];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) return n < 0 && errno == EINTR;
  for (ssize_t off = 0; off < n;) {
    ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return true;  // the reader went away; keep draining so the workload is not blocked
    }
    off += w;
  }
  return true;
}

ExitStatus decode(int status) {
  ExitStatus exit;
  if (WIFEXITED(status)) {
    exit.exited = true;
    exit.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    exit.code = WTERMSIG(status);
  }
  return exit;
}

}  // namespace

ExitStatus supervise(pid_t pid, int pidfd, int signal_fd, const Pty* pty) {
  std::optional<RawTerminal> raw;
  if (pty) raw.emplace();
  bool stdin_open = pty != nullptr;
  bool master_open = pty != nullptr;
  std::optional<ExitStatus> ended;
  while (!ended || master_open) {
    pollfd fds[3] = {{signal_fd, POLLIN, 0}, {-1, POLLIN, 0}, {-1, POLLIN, 0}};
    if (master_open) fds[1].fd = pty->master.get();
    if (stdin_open && !ended) fds[2].fd = STDIN_FILENO;
    // Once the workload is gone, the pty is drained without waiting for more.
    int timeout = ended ? 0 : -1;
    int n = ::poll(fds, 3, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll");
    }
    if (n == 0 && ended) break;
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR))
      master_open = pump(pty->master.get(), STDOUT_FILENO);
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR))
      stdin_open = pump(STDIN_FILENO, pty->master.get());
    if (!(fds[0].revents & POLLIN)) continue;
    signalfd_siginfo info;
    if (::read(signal_fd, &info, sizeof info) != sizeof info) continue;
    int sig = static_cast<int>(info.ssi_signo);
    if (sig == SIGCHLD) {
      int status = 0;
      pid_t r;
      while ((r = ::waitpid(-1, &status, WNOHANG)) > 0)
        if (r == pid) ended = decode(status);
      continue;
    }
    if (sig == SIGWINCH && pty) {
      winsize size{};
      if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &size) == 0)
        ::ioctl(pty->master.get(), TIOCSWINSZ, &size);
      continue;
    }
    if (!pty && info.ssi_code == SI_KERNEL) continue;  // the tty sent it to our whole group
    ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0);
  }
  return *ended;
}

namespace {

// PID 1 is a fork of modrt: its /proc/1/cmdline and /proc/1/environ would show every process of
// the container modrt's host command line (host paths, `-e SECRET=...`) and environment. Both live
// in this process's own copy of the stack; overwriting them there changes what /proc shows.
void hide_host_command_line() {
  std::string stat;
  try {
    stat = read_file("/proc/self/stat");
  } catch (const Error&) {
    return;
  }
  // Fields 48-51 (after the command name, which may hold spaces): arg_start arg_end env_start
  // env_end.
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return;
  std::istringstream fields(stat.substr(close + 2));
  std::vector<unsigned long> values;
  std::string field;
  for (int i = 3; fields >> field && i <= 51; ++i)
    if (i >= 48) values.push_back(std::strtoul(field.c_str(), nullptr, 10));
  if (values.size() != 4) return;
  for (size_t range = 0; range < 4; range += 2) {
    auto* begin = reinterpret_cast<char*>(values[range]);
    auto* end = reinterpret_cast<char*>(values[range + 1]);
    if (begin && end > begin) std::memset(begin, 0, static_cast<size_t>(end - begin));
  }
  auto* args = reinterpret_cast<char*>(values[0]);
  constexpr std::string_view kName = "modrt-init";
  if (args && values[1] - values[0] > kName.size()) std::memcpy(args, kName.data(), kName.size());
  ::prctl(PR_SET_NAME, kName.data());
}

}  // namespace

void become_init() {
  sigset_t all;
  sigfillset(&all);
  sigset_t previous;
  ::sigprocmask(SIG_BLOCK, &all, &previous);
  // Outside a new pid namespace, orphans would go to the host's init; as a subreaper they come
  // here.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  // Before the fork: the workload starts at once and could read PID 1's memory before it changed.
  hide_host_command_line();
  pid_t init = ::getpid();
  pid_t child = ::fork();
  if (child < 0) throw_errno("fork the workload under init");
  if (child == 0) {
    // A fork does not inherit the parent-death signal: without it, an init killed from outside a
    // pid namespace of its own would leave the workload running.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != init) ::_exit(125);
    ::sigprocmask(SIG_SETMASK, &previous, nullptr);
    return;
  }
  // PID 1 keeps nothing of modrt's: no sync socket (its EOF tells the parent the exec happened),
  // no state lock, no pty master.
  ::close_range(3, ~0U, 0);
  bool in_own_pid_ns = ::getpid() == 1;
  for (;;) {
    siginfo_t info;
    int sig = ::sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    if (sig == SIGCHLD) {
      int status = 0;
      pid_t r;
      while ((r = ::waitpid(-1, &status, WNOHANG)) > 0) {
        if (r != child) continue;
        // The workload is done: leaving takes the rest of the pid namespace down with PID 1.
        if (WIFEXITED(status)) ::_exit(WEXITSTATUS(status));
        ::_exit(128 + WTERMSIG(status));
      }
      continue;
    }
    bool terminating = sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT;
    // kill(-1) from PID 1 reaches every process of the namespace but PID 1: the whole tree stops.
    ::kill(terminating && in_own_pid_ns ? -1 : child, sig);
  }
}

}  // namespace modrt
