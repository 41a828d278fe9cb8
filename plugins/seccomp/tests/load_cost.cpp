// seccomp_load_cost: what the default profile costs on the startup path, in microseconds.
//   build    libseccomp rule database from the profile     } prepare on a cache miss
//   compile  BPF generation from that database             }
//   cached   cache key + reading the program back          prepare on a cache hit
//   load     seccomp(SECCOMP_SET_MODE_FILTER) of the finished program (apply_workload)
//   compile+load inside the workload: what seccomp_load() there would cost instead
// Each load happens in a forked child, since a loaded filter cannot be removed. Not a test: a
// measurement printed for the bench notes.
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bpf_cache.hpp"
#include "capabilities.hpp"
#include "filter.hpp"
#include "profile.hpp"

using namespace modrt::seccomp;
using Clock = std::chrono::steady_clock;

namespace {

double us(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Runs fn in a child and returns the microseconds it reported through a pipe.
double in_child(auto fn) {
  int fds[2];
  if (::pipe(fds) < 0) std::abort();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    double t = fn();
    if (::write(fds[1], &t, sizeof t) != sizeof t) ::_exit(1);
    ::_exit(0);
  }
  ::close(fds[1]);
  double t = -1;
  if (::read(fds[0], &t, sizeof t) != sizeof t) t = -1;
  ::close(fds[0]);
  int status;
  ::waitpid(pid, &status, 0);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 50;
  Profile profile = default_profile(default_capabilities());
  std::vector<double> profile_us, build, compile, cached, load_us, lib_load;
  char tmpl[] = "/tmp/modrt-seccomp-cost-XXXXXX";
  if (!::mkdtemp(tmpl)) return 1;
  std::filesystem::path dir = std::filesystem::path(tmpl) / ".seccomp";
  size_t insns = 0;
  for (int i = 0; i < rounds; ++i) {
    auto p0 = Clock::now();
    Profile fresh = default_profile(default_capabilities());
    profile_us.push_back(us(Clock::now() - p0));
    auto t0 = Clock::now();
    SyscallFilter filter(profile);
    auto t1 = Clock::now();
    BpfProgram program = filter.compile();
    auto t2 = Clock::now();
    build.push_back(us(t1 - t0));
    compile.push_back(us(t2 - t1));
    insns = program.code.size();
    if (i == 0) store_cached(dir, cache_key(profile), program);
    auto t3 = Clock::now();
    auto hit = read_cached(dir, cache_key(profile));
    cached.push_back(us(Clock::now() - t3));
    if (!hit) return 1;
    load_us.push_back(in_child([&] {
      ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
      auto a = Clock::now();
      load(program);
      return us(Clock::now() - a);
    }));
  }
  for (int i = 0; i < std::min(rounds, 10); ++i) {
    lib_load.push_back(in_child([&] {
      SyscallFilter filter(profile);
      ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
      auto a = Clock::now();
      BpfProgram p = filter.compile();
      load(p);
      return us(Clock::now() - a);
    }));
  }
  std::printf("default profile: %zu BPF instructions, %d rounds (median)\n", insns, rounds);
  std::printf("  profile (default_profile(), create)       %9.1f us\n", median(profile_us));
  std::printf("  build   (libseccomp rules, prepare)       %9.1f us\n", median(build));
  std::printf("  compile (BPF generation, prepare)         %9.1f us\n", median(compile));
  std::printf("  cached  (key + read back, prepare)        %9.1f us\n", median(cached));
  std::printf("  load    (seccomp(), apply_workload)       %9.1f us\n", median(load_us));
  std::printf("  compile+load inside the workload instead  %9.1f us\n", median(lib_load));
  std::filesystem::remove_all(tmpl);
  return 0;
}
