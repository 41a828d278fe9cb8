#include "fs_test.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace modrt::test::fs {

namespace stdfs = std::filesystem;

namespace {

std::string yaml_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// FNV-1a, 64 bits: enough to tell "unchanged" from "changed" for a test.
void mix(uint64_t& h, std::string_view data) {
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
}

}  // namespace

std::string variant_name(const ::testing::TestParamInfo<Variant>& info) {
  return info.param == Variant::root ? "Root" : "UserNamespace";
}

std::string ns_with(Variant v) {
  if (v == Variant::root) return "{namespaces: [mount, pid, ipc, uts, net]}";
  return "{namespaces: [user, mount, pid, ipc, uts, net], "
         "uid_map: [{container: 0, host: 100000, size: 65536}], "
         "gid_map: [{container: 0, host: 100000, size: 65536}]}";
}

std::string config(const std::string& name, const std::string& script, const std::string& fs_with,
                   Variant v, const std::string& more_stages) {
  return "name: " + name +
         "\n"
         "process:\n"
         "  args: [/bin/sh, -c, " +
         yaml_quoted(script) +
         "]\n"
         "  env: [PATH=/bin:/sbin:/usr/bin:/usr/sbin]\n"
         "stages:\n"
         "  - plugin: ns\n"
         "    with: " +
         ns_with(v) +
         "\n"
         "  - plugin: fs\n"
         "    with: " +
         fs_with + "\n" + more_stages;
}

stdfs::path private_rootfs(const TempDir& dir, const std::string& name) {
  stdfs::path out = dir / name;
  Result r = run({"cp", "-a", busybox_rootfs(), out.string()});
  if (r.exit_code != 0) ADD_FAILURE() << "copy rootfs: " << r.err;
  return out;
}

std::string tree_digest(const stdfs::path& root) {
  std::vector<stdfs::path> entries;
  for (const auto& e : stdfs::recursive_directory_iterator(root)) entries.push_back(e.path());
  std::sort(entries.begin(), entries.end());
  uint64_t h = 14695981039346656037ull;
  for (const auto& p : entries) {
    struct stat st {};
    ::lstat(p.c_str(), &st);
    mix(h, p.lexically_relative(root).string());
    mix(h, std::to_string(st.st_mode) + ":" + std::to_string(st.st_uid) + ":" +
               std::to_string(st.st_gid) + ":" + std::to_string(st.st_size) + ":" +
               std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec));
    if (S_ISLNK(st.st_mode)) {
      mix(h, stdfs::read_symlink(p).string());
    } else if (S_ISREG(st.st_mode)) {
      std::ifstream in(p, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      mix(h, ss.str());
    }
  }
  return std::to_string(entries.size()) + "/" + std::to_string(h);
}

std::vector<std::string> mount_points(const std::string& mountinfo) {
  std::vector<std::string> out;
  std::istringstream in(mountinfo);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    if (fields >> id >> parent >> dev >> root >> point) out.push_back(point);
  }
  return out;
}

std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos) out.push_back(line);
  return out;
}

bool any_mount_mentions(const std::string& needle) {
  std::error_code ec;
  for (const auto& entry : stdfs::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "mountinfo");
    for (std::string line; std::getline(in, line);)
      if (line.find(needle) != std::string::npos) return true;
  }
  return false;
}

void FsTest::SetUp() {
  HostLeakTest::SetUp();
  shared_rootfs_digest_ = tree_digest(busybox_rootfs());
}

void FsTest::TearDown() {
  EXPECT_EQ(tree_digest(busybox_rootfs()), shared_rootfs_digest_)
      << "the test wrote into the shared rootfs " << busybox_rootfs();
  HostLeakTest::TearDown();
}

std::string FsTest::write_config(const std::string& yaml) {
  return dir.write("config-" + unique_name("c") + ".yaml", yaml);
}

Result FsTest::run_config(const std::string& yaml, const std::vector<std::string>& extra) {
  std::vector<std::string> args{"run", "-c", write_config(yaml)};
  args.insert(args.end(), extra.begin(), extra.end());
  return modrt.run(args);
}

// Every TEST_P of FsVariantTest, whichever file holds it, runs as root and in a user namespace.
INSTANTIATE_TEST_SUITE_P(Variants, FsVariantTest, ::testing::Values(Variant::root, Variant::userns),
                         variant_name);

}  // namespace modrt::test::fs
