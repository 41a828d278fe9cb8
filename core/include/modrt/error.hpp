// Errors that carry what a user needs to act on them: which stage, which operation, which path,
// which errno. Each layer prepends its clause on the way up (see Error::wrap).
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace modrt {

class Error : public std::runtime_error {
 public:
  explicit Error(std::string message, int code = 0)
      : std::runtime_error(std::move(message)), errno_(code) {}

  // The errno behind the failure, 0 when it was not a system call.
  int error_code() const noexcept { return errno_; }

  // Returns a copy whose message is "context: <this message>", keeping the errno.
  Error wrap(std::string_view context) const {
    return Error(fmt::format("{}: {}", context, what()), errno_);
  }

 private:
  int errno_;
};

// A config that cannot be used: the message already names file:line:column and the key path.
// modrt exits with 2 on it, before anything was done.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// Throws Error("<formatted>: <strerror(code)>") carrying code.
[[noreturn]] void throw_system_error(int code, std::string message);

// Throws for the current errno: throw_errno("open '{}'", path) -> "open '/x': No such file or
// directory".
template <typename... Args>
[[noreturn]] void throw_errno(fmt::format_string<Args...> format, Args&&... args) {
  int code = errno;
  throw_system_error(code, fmt::format(format, std::forward<Args>(args)...));
}

// Runs fn and prepends context to any Error it throws. Other exceptions pass unchanged.
template <typename Fn>
decltype(auto) with_context(std::string_view context, Fn&& fn) {
  try {
    return std::forward<Fn>(fn)();
  } catch (const ConfigError&) {
    throw;
  } catch (const Error& e) {
    throw e.wrap(context);
  }
}

}  // namespace modrt
