#include "suggest.hpp"

#include <seccomp.h>

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

namespace modrt::seccomp {

std::vector<std::string> native_syscall_names() {
  std::vector<std::string> out;
  for (int nr = 0; nr < 1024; ++nr) {
    char* name = ::seccomp_syscall_resolve_num_arch(::seccomp_arch_native(), nr);
    if (!name) continue;
    out.emplace_back(name);
    ::free(name);
  }
  return out;
}

}  // namespace modrt::seccomp
