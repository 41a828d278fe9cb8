// seccomp_probe: makes one system call named on the command line and prints what the kernel said,
// "NAME: ok" (exit 0) or "NAME: EPERM" (exit 1). Static, so a test can drop it into any rootfs.
// Arguments are chosen so that an allowed call fails harmlessly (EINVAL, EFAULT, ENOENT) or does
// nothing lasting: the tests look only at whether the filter let it through.
#include <fcntl.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace {

int report(const char* name, long rc) {
  if (rc >= 0) {
    std::printf("%s: ok\n", name);
    return 0;
  }
  const char* e = ::strerrorname_np(errno);
  std::printf("%s: %s\n", name, e ? e : "?");
  return 1;
}

long i386_getpid() {
  // The 32-bit system call gate: eax 20 is getpid in the i386 table.
  long rc = 20;
  asm volatile("int $0x80" : "+a"(rc) : : "memory");
  if (rc < 0) errno = static_cast<int>(-rc), rc = -1;
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: seccomp_probe CALL [ARG]\n");
    return 2;
  }
  std::string_view call = argv[1];
  const char* arg = argc > 2 ? argv[2] : nullptr;
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  long rc = -1;
  if (call == "getpid")
    rc = ::syscall(SYS_getpid);
  else if (call == "keyctl")
    rc = ::syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
  else if (call == "add_key")
    rc = ::syscall(SYS_add_key, "user", "modrt-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING);
  else if (call == "unshare-user")
    rc = ::unshare(CLONE_NEWUSER);
  else if (call == "unshare-files")
    rc = ::unshare(CLONE_FILES);
  // A missing mount point: if the filter lets mount through, it fails with ENOENT, never mounts.
  else if (call == "mount")
    rc = ::mount("none", "/nonexistent-modrt-probe", "tmpfs", 0, nullptr);
  else if (call == "personality")
    rc = ::syscall(SYS_personality, arg ? std::strtoul(arg, nullptr, 0) : 0xffffffffUL);
  else if (call == "bpf")
    rc = ::syscall(SYS_bpf, -1, nullptr, 0);
  else if (call == "perf_event_open")
    rc = ::syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0);
  else if (call == "userfaultfd")
    rc = ::syscall(SYS_userfaultfd, 0);
  else if (call == "clone3")
    rc = ::syscall(SYS_clone3, nullptr, 0);
  else if (call == "setns")
    rc = ::syscall(SYS_setns, -1, 0);
  else if (call == "x32-getpid")
    rc = ::syscall(0x40000000 | SYS_getpid);
  else if (call == "i386-getpid")
    rc = i386_getpid();
  else if (call == "open-many") {
    // Opens /dev/null until the kernel refuses; prints the highest descriptor it got.
    int last = -1, fd;
    while ((fd = ::open("/dev/null", O_RDONLY)) >= 0) last = fd;
    int saved = errno;
    std::printf("highest fd %d\n", last);
    errno = saved;
  } else if (call == "fork") {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(7);
    int status = 0;
    if (pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
        WEXITSTATUS(status) == 7)
      rc = 0;
  } else {
    std::fprintf(stderr, "seccomp_probe: unknown call '%s'\n", argv[1]);
    return 2;
  }
  return report(argv[1], rc);
}
