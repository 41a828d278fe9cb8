#include "bpf_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "modrt/error.hpp"
#include "modrt/fd.hpp"

namespace modrt::seccomp {

namespace {

// Bump when the way a profile becomes BPF changes (attributes, the ENOSYS prefix, ...).
constexpr int kGeneration = 1;
constexpr size_t kMaxEntry = 1 << 20;

uint64_t fnv1a(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

std::filesystem::path entry_path(const std::filesystem::path& dir, const std::string& key) {
  return dir / fmt::format("{:016x}.bpf", fnv1a(key));
}

bool read_all(int fd, std::string& out) {
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxEntry) return false;
  }
}

void write_all(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("write '{}'", path);
    data += n;
    size -= static_cast<size_t>(n);
  }
}

}  // namespace

std::string cache_key(const Profile& profile) {
  const scmp_version* v = ::seccomp_version();
  // The newest syscall libseccomp knows (the ENOSYS prefix) follows from its version.
  std::string key = fmt::format("modrt-seccomp {} libseccomp {}.{}.{} native {:#x}\n", kGeneration,
                                v->major, v->minor, v->micro, ::seccomp_arch_native());
  key += fmt::format("default {:#x}\narch", profile.default_action.to_libseccomp());
  for (uint32_t arch : profile.architectures) key += fmt::format(" {:#x}", arch);
  key += '\n';
  for (const auto& rule : profile.rules) {
    key += fmt::format("rule {:#x}", rule.action.to_libseccomp());
    for (const auto& c : rule.args)
      key +=
          fmt::format(" [{} {} {:#x} {:#x}]", c.index, static_cast<int>(c.op), c.value, c.value2);
    key += ':';
    for (const auto& name : rule.names) key += ' ' + name;
    key += '\n';
  }
  return key;
}

std::optional<BpfProgram> read_cached(const std::filesystem::path& dir, const std::string& key) {
  std::string path = entry_path(dir, key).string();
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return std::nullopt;
  std::string data;
  if (!read_all(fd.get(), data)) return std::nullopt;
  // key, a NUL, then whole instructions.
  if (data.size() <= key.size() || data.compare(0, key.size(), key) != 0 ||
      data[key.size()] != '\0')
    return std::nullopt;
  size_t bytes = data.size() - key.size() - 1;
  if (bytes == 0 || bytes % sizeof(sock_filter) != 0 || bytes / sizeof(sock_filter) > BPF_MAXINSNS)
    return std::nullopt;
  BpfProgram program;
  program.code.resize(bytes / sizeof(sock_filter));
  std::memcpy(program.code.data(), data.data() + key.size() + 1, bytes);
  return program;
}

void store_cached(const std::filesystem::path& dir, const std::string& key,
                  const BpfProgram& program) {
  if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST) throw_errno("create '{}'", dir.string());
  std::string final_path = entry_path(dir, key).string();
  std::string tmp = fmt::format("{}.{}.tmp", final_path, ::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) throw_errno("create '{}'", tmp);
  try {
    write_all(fd.get(), key.c_str(), key.size() + 1, tmp);  // with its NUL
    write_all(fd.get(), reinterpret_cast<const char*>(program.code.data()),
              program.code.size() * sizeof(sock_filter), tmp);
    fd.reset();
    // Readers see the old entry or the whole new one, never a half-written file.
    if (::rename(tmp.c_str(), final_path.c_str()) < 0) throw_errno("rename to '{}'", final_path);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

}  // namespace modrt::seccomp
