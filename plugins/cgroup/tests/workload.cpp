// What the cgroup integration tests run inside a container: small, predictable consumers of the
// resources the stage limits. Host binary; the tests' configs have no fs stage.
//   alloc MiB        touch MiB of anonymous memory, then exit 0
//   fork N SECONDS   try to keep N children alive for SECONDS; print how many forks succeeded
//   spin SECONDS     burn one CPU for SECONDS of wall time
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: cgroup_workload alloc MiB | fork N SECONDS | spin SECONDS\n");
    return 2;
  }
  std::string mode = argv[1];
  if (mode == "alloc") {
    size_t mib = std::strtoul(argv[2], nullptr, 10);
    std::vector<char*> chunks;
    for (size_t i = 0; i < mib; ++i) {
      char* chunk = static_cast<char*>(std::malloc(1 << 20));
      if (!chunk) return 3;
      std::memset(chunk, 0x5a, 1 << 20);  // touched, so it is really charged
      chunks.push_back(chunk);
    }
    std::printf("allocated %zu MiB\n", mib);
    return 0;
  }
  if (mode == "fork" && argc >= 4) {
    int n = std::atoi(argv[2]);
    unsigned hold = static_cast<unsigned>(std::atoi(argv[3]));
    int ok = 0, failed = 0;
    for (int i = 0; i < n; ++i) {
      pid_t pid = fork();
      if (pid == 0) {
        sleep(hold);
        _exit(0);
      }
      if (pid > 0)
        ++ok;
      else
        ++failed;
    }
    std::printf("forked %d failed %d\n", ok, failed);
    std::fflush(stdout);
    while (wait(nullptr) > 0) {
    }
    return 0;
  }
  if (mode == "spin") {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(std::atoi(argv[2]));
    volatile unsigned long x = 0;
    while (std::chrono::steady_clock::now() < end)
      for (int i = 0; i < 100000; ++i) x = x + 1;
    return 0;
  }
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
