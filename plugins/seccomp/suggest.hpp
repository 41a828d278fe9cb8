// "did you mean" for misspelt names (system calls, capabilities) in error messages.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace modrt::seccomp {

// The candidate nearest to `name` when it is a near miss (at most two edits away, and fewer than
// half the name), else "".
std::string closest(std::string_view name, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

// Every system call name libseccomp knows for the native architecture.
std::vector<std::string> native_syscall_names();

}  // namespace modrt::seccomp
