// The host side after exec: forward signals, relay a terminal, reap, and report how it ended.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include "modrt/context.hpp"
#include "modrt/fd.hpp"

namespace modrt {

// Signals modrt forwards to the workload. They (and SIGCHLD) are blocked in modrt from before the
// clone to the end of the run and read through a signalfd; the workload unblocks them.
sigset_t forwarded_signals();

// A pseudo-terminal for `terminal: true`: the workload gets the slave as its controlling terminal.
struct Pty {
  UniqueFd master;
  UniqueFd slave;
  static Pty open();
  // Inside the workload: new session, slave as controlling terminal and as fds 0, 1, 2.
  void attach_as_controlling_terminal() const;
};

// Waits for the workload to end while forwarding signals (and relaying the pty when given).
// Signals that the terminal sent to the whole foreground process group already reached a workload
// that shares it, so they are not sent twice.
ExitStatus supervise(pid_t pid, int pidfd, int signal_fd, const Pty* pty);

// Inside the workload when ctx.init: forks; the child returns and goes on to exec, the parent
// stays as PID 1, forwards signals to it, reaps every orphan, and exits with the child's status.
void become_init();

}  // namespace modrt
