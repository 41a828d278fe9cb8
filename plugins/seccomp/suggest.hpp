// Names for "did you mean" in this plugin's errors; the matching itself is modrt/suggest.hpp.
#pragma once

#include <string>
#include <vector>

#include "modrt/suggest.hpp"

namespace modrt::seccomp {

// Every system call name libseccomp knows for the native architecture.
std::vector<std::string> native_syscall_names();

}  // namespace modrt::seccomp
