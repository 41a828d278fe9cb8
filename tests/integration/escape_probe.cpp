// escape_probe: tries to break out of a container, one attempt per argument, and prints what the
// kernel answered, one line each: "NAME: ok" (with what it got, for some) or "NAME: EPERM".
// Static, so the escape tests can bind it into the busybox rootfs; it runs on the host too, as the
// positive control that proves each attempt really reaches the kernel.
//
//   escape_probe ATTEMPT[=ARG] ...   e.g. escape_probe mount=/tmp keyctl ptrace=1
//   open-write=/proc/1/exe
//
// Every attempt runs in a child of its own, so one that succeeds (a mount, a new namespace, an
// attached tracee) cannot change the ground for the next. Arguments are chosen so that a success
// changes nothing lasting on the host: files are opened, never written; objects that would be
// created (keys, maps, rings) belong to the child and go with it.
#include <dirent.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

// What a failed call left in errno, by name ("EPERM"), for the test to compare.
std::string error_name(int err) {
  const char* name = ::strerrorname_np(err);
  return name ? name : "errno " + std::to_string(err);
}

// rc >= 0: "ok" (plus detail); else the errno's name.
std::string outcome(long rc, const std::string& detail = "") {
  if (rc >= 0) return detail.empty() ? "ok" : "ok " + detail;
  return error_name(errno);
}

std::string fd_list() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return outcome(-1);
  std::string fds;
  // Sorted by number: the kernel lists them in order.
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    int fd = std::atoi(entry->d_name);
    if (fd == ::dirfd(dir)) continue;  // the listing's own
    fds += (fds.empty() ? "" : " ") + std::to_string(fd);
  }
  ::closedir(dir);
  return "ok " + fds;
}

std::string ptrace_attach(pid_t pid) {
  if (::ptrace(PTRACE_ATTACH, pid, nullptr, nullptr) < 0) return outcome(-1);
  int status;
  ::waitpid(pid, &status, __WALL);
  ::ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
  return "ok";
}

// The control for ptrace: a child of our own, which any tracer may attach to.
std::string ptrace_own_child() {
  pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  std::string result = ptrace_attach(child);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  return result;
}

std::string bpf_map_create() {
  bpf_attr attr{};
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = 1;
  return outcome(::syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr));
}

std::string bpf_prog_load() {
  // r0 = 0; exit: the smallest program a socket filter may be.
  bpf_insn insns[2] = {};
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  insns[0].dst_reg = BPF_REG_0;
  insns[1].code = BPF_JMP | BPF_EXIT;
  static char license[] = "GPL";
  bpf_attr attr{};
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insn_cnt = 2;
  attr.insns = reinterpret_cast<uintptr_t>(insns);
  attr.license = reinterpret_cast<uintptr_t>(license);
  return outcome(::syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr));
}

std::string io_uring_setup() {
  io_uring_params params{};
  return outcome(::syscall(SYS_io_uring_setup, 4, &params));
}

// The "shocker" attack: open_by_handle_at skips every path check, and a guessed handle reaches
// files outside any chroot on the same file system. The handle is the real one of `path` where the
// file system gives one out (overlayfs does not); else the guess the exploit made, inode 2 (the
// root of an ext4) as FILEID_INO32_GEN, so that the call itself is always attempted.
std::string open_by_handle(const char* path) {
  struct {
    file_handle handle;
    unsigned char bytes[MAX_HANDLE_SZ];
  } buf{};
  buf.handle.handle_bytes = MAX_HANDLE_SZ;
  int mount_id = 0;
  if (::syscall(SYS_name_to_handle_at, AT_FDCWD, path, &buf.handle, &mount_id, 0) < 0) {
    buf = {};
    buf.handle.handle_bytes = 8;
    buf.handle.handle_type = 1;
    buf.bytes[0] = 2;
  }
  int mount_fd = ::open(path, O_RDONLY);
  return outcome(::syscall(SYS_open_by_handle_at, mount_fd, &buf.handle, O_RDONLY));
}

// What a file holds, NULs shown as spaces (for /proc/PID/cmdline and environ).
std::string contents(const char* path) {
  int fd = ::open(path, O_RDONLY);
  if (fd < 0) return outcome(-1);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && text.size() < 65536) text.append(buf, n);
  int err = errno;
  ::close(fd);
  if (n < 0) {
    errno = err;
    return outcome(-1);
  }
  for (char& c : text)
    if (c == '\0' || c == '\n') c = ' ';
  return "ok " + text;
}

std::string readlink_of(const char* path) {
  char target[4096];
  ssize_t n = ::readlink(path, target, sizeof target - 1);
  if (n < 0) return outcome(-1);
  target[n] = 0;
  return std::string("ok ") + target;
}

// The classic chroot breakout: chroot into a subdirectory while keeping the working directory
// above it, climb, and chroot to where the climb ended. It works against a plain chroot; after
// pivot_root and the old root's detach there is nothing above the container's root to reach.
std::string chroot_escape(const char* path) {
  char dir[] = "/tmp/escape-chroot-XXXXXX";
  if (!::mkdtemp(dir)) return "mkdtemp " + outcome(-1);
  if (::chroot(dir) < 0) {
    std::string result = "chroot " + outcome(-1);
    ::rmdir(dir);
    return result;
  }
  for (int i = 0; i < 64; ++i) (void)!::chdir("..");
  if (::chroot(".") < 0) return "chroot . " + outcome(-1);
  ::rmdir(dir);  // from wherever the climb ended: the same /tmp it was made in
  return outcome(::open(path, O_RDONLY));
}

// One attempt, in the child. Returns what to print after "NAME: ".
std::string attempt(std::string_view name, const char* arg) {
  // --- mounts
  if (name == "mount") return outcome(::mount("none", arg, "tmpfs", 0, "size=1m"));
  if (name == "remount-rw")
    return outcome(::mount(nullptr, arg, nullptr, MS_REMOUNT | MS_BIND, nullptr));
  if (name == "umount") return outcome(::umount2(arg, MNT_DETACH));
  if (name == "fsopen") return outcome(::syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC));
  if (name == "open_tree")
    return outcome(::syscall(SYS_open_tree, AT_FDCWD, arg, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  if (name == "chroot-escape") return chroot_escape(arg);
  if (name == "pivot_root") return outcome(::syscall(SYS_pivot_root, "/", "/"));
  // --- namespaces
  if (name == "unshare-user") return outcome(::unshare(CLONE_NEWUSER));
  if (name == "unshare-all")
    return outcome(::unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET |
                             CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP));
  if (name == "unshare-mount") return outcome(::unshare(CLONE_NEWNS));
  if (name == "clone-newuser") {
    long pid = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, 0);
    if (pid == 0) ::_exit(0);
    if (pid > 0) ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
    return outcome(pid);
  }
  if (name == "setns") {
    int fd = ::open(arg, O_RDONLY);
    if (fd < 0) return "open " + outcome(-1);
    return outcome(::setns(fd, 0));
  }
  // --- kernel interfaces a container has no business with
  if (name == "keyctl")
    return outcome(::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "modrt-escape-probe"));
  if (name == "add_key")
    return outcome(
        ::syscall(SYS_add_key, "user", "modrt-escape-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING));
  if (name == "bpf-map") return bpf_map_create();
  if (name == "bpf-prog") return bpf_prog_load();
  if (name == "userfaultfd") return outcome(::syscall(SYS_userfaultfd, O_CLOEXEC));
  if (name == "io_uring_setup") return io_uring_setup();
  if (name == "open_by_handle_at") return open_by_handle(arg);
  // --- device nodes
  if (name == "mknod-block") return outcome(::mknod(arg, S_IFBLK | 0600, ::makedev(8, 0)));  // sda
  if (name == "mknod-char") return outcome(::mknod(arg, S_IFCHR | 0600, ::makedev(1, 1)));   // mem
  if (name == "mknod-fifo") return outcome(::mknod(arg, S_IFIFO | 0600, 0));
  // --- other processes
  if (name == "ptrace") return ptrace_attach(std::atoi(arg));
  if (name == "ptrace-own-child") return ptrace_own_child();
  if (name == "kill0") return outcome(::kill(std::atoi(arg), 0));
  // --- files
  if (name == "readlink") return readlink_of(arg);
  if (name == "open-read") return outcome(::open(arg, O_RDONLY));
  if (name == "cat") return contents(arg);
  // Opens only: nothing is written even when the open succeeds.
  if (name == "open-write") return outcome(::open(arg, O_WRONLY));
  if (name == "mkdir") {
    long rc = ::mkdir(arg, 0700);
    if (rc == 0) ::rmdir(arg);
    return outcome(rc);
  }
  return "unknown attempt";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: escape_probe ATTEMPT[=ARG] ...\n");
    return 2;
  }
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  // The fds the probe was started with, before it opens anything of its own.
  const std::string started_with = fd_list();
  // "early-cat=PATH": read first thing, before any fork, to win races against what runs beside
  // the probe's start (PID 1 hiding its command line).
  std::vector<std::string> early;
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]).starts_with("early-cat="))
      early.push_back(contents(argv[i] + 10));
  for (int i = 1; i < argc; ++i) {
    std::string spec = argv[i];
    auto eq = spec.find('=');
    std::string name = spec.substr(0, eq);
    std::string arg = eq == std::string::npos ? "" : spec.substr(eq + 1);
    if (name == "fds" || name == "early-cat") {
      std::printf("%s: %s\n", spec.c_str(),
                  name == "fds" ? started_with.c_str() : early.front().c_str());
      if (name == "early-cat") early.erase(early.begin());
      continue;
    }
    int out[2];
    if (::pipe(out) < 0) return 2;
    pid_t child = ::fork();
    if (child == 0) {
      ::close(out[0]);
      std::string result = attempt(name, arg.c_str());
      (void)!::write(out[1], result.data(), result.size());
      ::_exit(0);
    }
    ::close(out[1]);
    std::string result;
    char buf[4096];
    for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) result.append(buf, n);
    ::close(out[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    if (WIFSIGNALED(status)) result = "killed by signal " + std::to_string(WTERMSIG(status));
    std::printf("%s: %s\n", spec.c_str(), result.c_str());
  }
  return 0;
}
