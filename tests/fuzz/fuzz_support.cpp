#include "fuzz_support.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace modrt::fuzz {

namespace stdfs = std::filesystem;

void expect_c_string(std::string_view text, std::string_view what) {
  if (text.find('\0') == std::string_view::npos) return;
  std::fprintf(stderr,
               "==modrt-fuzz== accepted a NUL byte in %.*s: the kernel would cut it short\n",
               static_cast<int>(what.size()), what.data());
  std::abort();
}

ScratchDir::ScratchDir(std::string_view tag) {
  if (const char* given = std::getenv("MODRT_FUZZ_SCRATCH"); given && *given) {
    path_ = stdfs::path(given) / tag;
    stdfs::create_directories(path_);
    return;
  }
  stdfs::path base =
      stdfs::is_directory("/dev/shm") ? stdfs::path("/dev/shm") : stdfs::temp_directory_path();
  std::string pattern = (base / ("modrt-fuzz-" + std::string(tag) + "-XXXXXX")).string();
  if (!::mkdtemp(pattern.data())) {
    std::perror("modrt-fuzz: mkdtemp");
    std::abort();
  }
  path_ = pattern;
  owned_ = true;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  if (owned_) stdfs::remove_all(path_, ec);
}

void write_bytes(const stdfs::path& path, std::string_view bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror(("modrt-fuzz: open " + path.string()).c_str());
    std::abort();
  }
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) {
      std::perror(("modrt-fuzz: write " + path.string()).c_str());
      std::abort();
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

std::pair<std::string_view, std::optional<std::string_view>> split_at_nul(std::string_view text) {
  size_t nul = text.find('\0');
  if (nul == std::string_view::npos) return {text, std::nullopt};
  return {text.substr(0, nul), text.substr(nul + 1)};
}

std::optional<Config> parse_config_or_skip(std::string_view text, const stdfs::path& dir) {
  try {
    return parse_config(text, "fuzz.yaml", dir);
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace modrt::fuzz
