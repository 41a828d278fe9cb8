// What every modrt fuzz target shares: the line between an expected "no" and a finding, a scratch
// dir on a tmpfs for the readers that take files, and a config whose one stage a plugin reads.
//
// The oracle: a parser says no by throwing modrt::Error (ConfigError included), which modrt turns
// into a message and an exit code. Anything else escaping it (std::out_of_range, a
// nlohmann::json::type_error, a YAML::Exception the core forgot to translate) would end modrt with
// std::terminate, so it is a finding, as are crashes and ASan/UBSan reports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "modrt/config.hpp"
#include "modrt/error.hpp"

namespace modrt::fuzz {

// Runs fn; a modrt::Error is an accepted outcome. Nothing else is caught, on purpose: with no
// handler anywhere up the stack, the C++ runtime calls std::terminate at the throw itself, so
// libFuzzer's crash report shows where the exception came from, and libstdc++'s terminate handler
// prints its type and message ("terminate called after throwing an instance of ...").
template <typename Fn>
void expect_modrt_errors(Fn&& fn) {
  try {
    std::forward<Fn>(fn)();
  } catch (const Error&) {
    // The parser refused the input with a message: what it should do.
  }
}

// What modrt hands the kernel as a C string (a path, an argument, an environment entry, a name)
// must not hold a NUL: the kernel would see it cut short, silently (issue 11, item 10). A parser
// that accepts one is a finding like a crash: this reports `what` and aborts.
void expect_c_string(std::string_view text, std::string_view what);
inline void expect_c_string(const std::string& text, std::string_view what) {
  expect_c_string(std::string_view(text), what);
}
inline void expect_c_string(const std::filesystem::path& path, std::string_view what) {
  expect_c_string(std::string_view(path.native()), what);
}

// A private directory, on /dev/shm when there is one (the readers write and read a file per
// input: a tmpfs keeps that off the disk), removed when the fuzzer exits normally. A crash leaves
// it for run.sh, which names it through MODRT_FUZZ_SCRATCH and removes it afterwards.
class ScratchDir {
 public:
  explicit ScratchDir(std::string_view tag);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  bool owned_ = false;  // made here (not handed over by run.sh), so removed here
};

// Replaces path's content with bytes (created 0600 if missing).
void write_bytes(const std::filesystem::path& path, std::string_view bytes);

// The fuzz input as text.
inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Splits the input at its first NUL: readers of two files take one from each part. Without a NUL,
// the second part is absent (nullopt), which the readers treat as a missing file.
std::pair<std::string_view, std::optional<std::string_view>> split_at_nul(std::string_view text);

// The input as a whole config file, read as `modrt run` would (parse_config, relative paths against
// dir); nullopt when the core refuses it, so only configs that get as far as a plugin reach one.
std::optional<Config> parse_config_or_skip(std::string_view text, const std::filesystem::path& dir);

}  // namespace modrt::fuzz
