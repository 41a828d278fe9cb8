#include "filter.hpp"

#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "modrt/error.hpp"
#include "modrt/fd.hpp"

namespace modrt::seccomp {

namespace {

std::vector<uint32_t> architectures_of(const Profile& profile) {
  if (!profile.architectures.empty()) return profile.architectures;
  return {::seccomp_arch_native()};
}

[[noreturn]] void refuse(const Rule& rule, const std::string& message) {
  if (rule.source) rule.source->fail(message);
  throw Error(fmt::format("profile rule for {}: {}", rule.names.front(), message));
}

// Native calls above `newest` (and below the x32 range) return ENOSYS before the filter proper
// looks at them; everything else falls through to it unchanged. Jumps count from the next insn.
std::vector<sock_filter> enosys_prefix(uint32_t audit_arch, uint32_t newest) {
  constexpr uint32_t kX32Bit = 0x40000000;
  return {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, audit_arch, 0, 4),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, kX32Bit, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, newest, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
  };
}

}  // namespace

int SyscallFilter::newest_known_syscall() {
  static const int newest = [] {
    int found = -1;
    for (int nr = 0; nr < 1024; ++nr) {
      char* name = ::seccomp_syscall_resolve_num_arch(::seccomp_arch_native(), nr);
      if (name) found = nr;
      ::free(name);
    }
    return found;
  }();
  return newest;
}

void SyscallFilter::Release::operator()(void* ctx) const {
  ::seccomp_release(ctx);
}

SyscallFilter::SyscallFilter(const Profile& profile) {
  enosys_for_newer_ = !profile.default_action.lets_through();
  ctx_.reset(::seccomp_init(profile.default_action.to_libseccomp()));
  if (!ctx_) throw Error("seccomp_init: could not allocate a filter");
  scmp_filter_ctx ctx = ctx_.get();

  // We load the program ourselves (see load()), so libseccomp's own no_new_privs handling is off.
  // A binary search over the syscall numbers keeps the cost per system call low for a long
  // allowlist.
  ::seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  ::seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  // A call from an architecture the profile does not list is no ordinary failure: kill it.
  ::seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);

  for (uint32_t arch : architectures_of(profile)) {
    if (arch == ::seccomp_arch_native()) continue;  // seccomp_init added it
    int rc = ::seccomp_arch_add(ctx, arch);
    if (rc < 0 && rc != -EEXIST)
      throw Error(fmt::format("seccomp: add architecture {}: {}", arch, std::strerror(-rc)), -rc);
  }

  for (const auto& rule : profile.rules) {
    // libseccomp refuses a rule whose action is the default one; it would change nothing anyway.
    if (rule.action == profile.default_action) continue;
    std::vector<scmp_arg_cmp> cmps;
    for (const auto& c : rule.args) {
      uint64_t datum_a = c.value, datum_b = 0;
      // libseccomp's masked comparison takes (mask, value); others take just the value.
      if (c.op == SCMP_CMP_MASKED_EQ) datum_b = c.value2;
      cmps.push_back({c.index, c.op, datum_a, datum_b});
    }
    for (const auto& name : rule.names) {
      int nr = ::seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        if (!rule.source) continue;  // a built-in name newer than this libseccomp
        refuse(rule, fmt::format("unknown system call '{}'", name));
      }
      int rc = ::seccomp_rule_add_array(ctx, rule.action.to_libseccomp(), nr,
                                        static_cast<unsigned>(cmps.size()), cmps.data());
      if (rc == -EEXIST)
        refuse(rule, fmt::format("'{}' already has a rule with a different action; one system call "
                                 "takes one action (per argument condition)",
                                 name));
      if (rc < 0)
        refuse(rule,
               fmt::format("libseccomp refused the rule for '{}': {}", name, std::strerror(-rc)));
      ++rules_;
    }
  }
}

BpfProgram SyscallFilter::compile() const {
  // libseccomp 2.5 exports only to an fd: an anonymous memory file keeps this off any disk.
  UniqueFd mem(static_cast<int>(::syscall(SYS_memfd_create, "modrt-seccomp", MFD_CLOEXEC)));
  if (!mem) throw_errno("memfd_create for the seccomp program");
  int rc = ::seccomp_export_bpf(ctx_.get(), mem.get());
  if (rc < 0) throw Error(fmt::format("generate the seccomp program: {}", std::strerror(-rc)), -rc);
  off_t size = ::lseek(mem.get(), 0, SEEK_END);
  if (size < 0) throw_errno("seek the seccomp program");
  if (size % sizeof(sock_filter) != 0)
    throw Error(fmt::format("the seccomp program has {} bytes, not whole instructions", size));
  BpfProgram program;
  program.code.resize(static_cast<size_t>(size) / sizeof(sock_filter));
  size_t done = 0;
  auto* bytes = reinterpret_cast<char*>(program.code.data());
  while (done < static_cast<size_t>(size)) {
    ssize_t n = ::pread(mem.get(), bytes + done, static_cast<size_t>(size) - done,
                        static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read the seccomp program back");
    if (n == 0) throw Error("read the seccomp program back: unexpected end");
    done += static_cast<size_t>(n);
  }
  int newest = newest_known_syscall();
  if (enosys_for_newer_ && newest > 0) {
    // libseccomp's SCMP_ARCH_* tokens are the kernel's AUDIT_ARCH_* values.
    auto prefix = enosys_prefix(::seccomp_arch_native(), static_cast<uint32_t>(newest));
    program.code.insert(program.code.begin(), prefix.begin(), prefix.end());
  }
  return program;
}

void load(const BpfProgram& program) {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(program.code.size());
  prog.filter = const_cast<sock_filter*>(program.code.data());
  if (program.code.size() > BPF_MAXINSNS)
    throw Error(fmt::format("the seccomp program has {} instructions; the kernel takes at most {}",
                            program.code.size(), BPF_MAXINSNS));
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
    throw_errno("load the seccomp filter ({} instructions)", program.code.size());
}

bool kernel_supports(uint32_t action) {
  uint32_t kernel_action = action & SECCOMP_RET_ACTION_FULL;
  return ::syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &kernel_action) == 0;
}

}  // namespace modrt::seccomp
