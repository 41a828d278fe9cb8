// The compiled-filter cache: an entry is used only when its full key matches.
#include <linux/capability.h>

#include <cstring>
#include <fstream>

#include <gtest/gtest.h>

#include "bpf_cache.hpp"
#include "capabilities.hpp"
#include "modrt/error.hpp"

namespace modrt::seccomp {
namespace {

class SeccompCache : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/modrt-seccomp-cache-XXXXXX";
    ASSERT_TRUE(::mkdtemp(tmpl));
    root_ = tmpl;
    dir_ = root_ / ".seccomp";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::filesystem::path root_, dir_;
};

bool same(const BpfProgram& a, const BpfProgram& b) {
  return a.code.size() == b.code.size() &&
         std::memcmp(a.code.data(), b.code.data(), a.code.size() * sizeof(sock_filter)) == 0;
}

TEST_F(SeccompCache, KeyNamesEverythingTheProgramDependsOn) {
  Profile a = default_profile(default_capabilities());
  Profile b = default_profile(default_capabilities() | bit(CAP_SYS_ADMIN));
  Profile c = a;
  c.default_action = Action::fail_with(ENOSYS);
  Profile d = a;
  d.architectures = {SCMP_ARCH_X86_64, SCMP_ARCH_X86};
  EXPECT_EQ(cache_key(a), cache_key(default_profile(default_capabilities())));
  EXPECT_NE(cache_key(a), cache_key(b));
  EXPECT_NE(cache_key(a), cache_key(c));
  EXPECT_NE(cache_key(a), cache_key(d));
  EXPECT_NE(cache_key(a).find("libseccomp 2."), std::string::npos);
}

TEST_F(SeccompCache, StoredProgramsComeBackUnchanged) {
  Profile profile = default_profile(default_capabilities());
  std::string key = cache_key(profile);
  EXPECT_FALSE(read_cached(dir_, key));
  BpfProgram program = SyscallFilter(profile).compile();
  store_cached(dir_, key, program);
  EXPECT_EQ(std::filesystem::status(dir_).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_all);
  auto cached = read_cached(dir_, key);
  ASSERT_TRUE(cached);
  EXPECT_TRUE(same(*cached, program));
  // Stored again (another run): replaced in place, no temporary left behind.
  store_cached(dir_, key, program);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 1);
}

TEST_F(SeccompCache, AnEntryUnderTheSameNameWithAnotherKeyIsAMiss) {
  Profile profile = default_profile(default_capabilities());
  std::string key = cache_key(profile);
  store_cached(dir_, key, SyscallFilter(profile).compile());
  auto entry = std::filesystem::directory_iterator(dir_)->path();
  // Same file name (as a hash collision would give), different key inside.
  std::string other = key;
  other[other.size() / 2] ^= 1;
  std::ofstream(entry, std::ios::binary) << other << '\0' << std::string(8, 'x');
  EXPECT_FALSE(read_cached(dir_, key));
}

TEST_F(SeccompCache, TruncatedOrMalformedEntriesAreMisses) {
  Profile profile = default_profile(default_capabilities());
  std::string key = cache_key(profile);
  store_cached(dir_, key, SyscallFilter(profile).compile());
  auto entry = std::filesystem::directory_iterator(dir_)->path();
  auto size = std::filesystem::file_size(entry);
  std::filesystem::resize_file(entry, size - 3);  // not whole instructions
  EXPECT_FALSE(read_cached(dir_, key));
  std::filesystem::resize_file(entry, key.size() + 1);  // no instructions
  EXPECT_FALSE(read_cached(dir_, key));
  std::filesystem::resize_file(entry, key.size() - 1);  // not even the key
  EXPECT_FALSE(read_cached(dir_, key));
}

TEST_F(SeccompCache, AnUnwritableFolderIsAnErrorTheStageIgnores) {
  std::filesystem::path file = root_ / "not-a-dir";
  std::ofstream(file) << "x";
  Profile profile = default_profile(default_capabilities());
  EXPECT_THROW(
      store_cached(file / ".seccomp", cache_key(profile), SyscallFilter(profile).compile()), Error);
}

}  // namespace
}  // namespace modrt::seccomp
