// The overlay of kernels whose overlayfs takes no layer fds (before about 6.15), forced on this one
// with the MODRT_FS_FORCE_PATH_LAYERS=1 test hook: layers go by name, and the run must give the
// same results as with fds. Also what degrades there: the in-memory upper (to disk) and the
// idmapped lowers (off, with a warning; an error with idmap: true).
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "fs_test.hpp"

namespace modrt::test::fs {
namespace {

namespace stdfs = std::filesystem;

constexpr const char* kScribble =
    "echo new > /etc/new-file && echo more >> /etc/passwd && rm /etc/hosts && "
    "mkdir -p /var/lib/app && echo x > /var/lib/app/db && rm /bin/ls && ls /etc";

class PathLayersTest : public FsTest {
 protected:
  Result run_by_name(const std::string& yaml) {
    std::vector<std::string> argv{"env", "MODRT_FS_FORCE_PATH_LAYERS=1"};
    for (auto& a : modrt.argv({"run", "-c", write_config(yaml)})) argv.push_back(a);
    return run(argv);
  }
  std::string persistent(const stdfs::path& lower, const stdfs::path& layers,
                         const std::string& extra = "") {
    return "{rootfs: " + lower.string() + ", overlay: {upper: " + (layers / "upper").string() +
           ", work: " + (layers / "work").string() + extra + "}}";
  }
};

// What overlayfs wrote into an upper: names, types, modes, owners, sizes, link targets and
// contents (not times, which differ between two runs).
std::string upper_contents(const stdfs::path& root) {
  std::vector<stdfs::path> entries;
  for (const auto& e : stdfs::recursive_directory_iterator(root)) entries.push_back(e.path());
  std::sort(entries.begin(), entries.end());
  std::string out;
  for (const auto& p : entries) {
    struct stat st {};
    ::lstat(p.c_str(), &st);
    out += p.lexically_relative(root).string() + " " + std::to_string(st.st_mode) + " " +
           std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) + " " +
           std::to_string(st.st_size);
    if (S_ISLNK(st.st_mode)) out += " -> " + stdfs::read_symlink(p).string();
    if (S_ISREG(st.st_mode)) {
      std::ifstream in(p, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      out += " [" + ss.str() + "]";
    }
    out += "\n";
  }
  return out;
}

std::string slurp(const stdfs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_F(PathLayersTest, ByNameGivesTheSameResultsAsByFd) {
  stdfs::path lower_fd = private_rootfs(dir, "lower-fd");
  stdfs::path lower_name = private_rootfs(dir, "lower-name");
  std::string before = tree_digest(lower_fd);
  ASSERT_EQ(tree_digest(lower_name), before);
  std::string script = std::string(kScribble) + "; grep ' / / ' /proc/self/mountinfo";

  Result by_fd = run_config(config(unique_name("fsfd"), script, persistent(lower_fd, dir / "fd")));
  Result by_name =
      run_by_name(config(unique_name("fsname"), script, persistent(lower_name, dir / "name")));
  ASSERT_EQ(by_fd.exit_code, 0) << by_fd.err;
  ASSERT_EQ(by_name.exit_code, 0) << by_name.err;

  // overlayfs shows how it got its lower layers: "lowerdir+=" one by one (fds), "lowerdir=" all.
  EXPECT_NE(by_name.out.find(",lowerdir=" + lower_name.string() + ","), std::string::npos)
      << "the forced run did not go by name: " << by_name.out;
  EXPECT_NE(by_fd.out.find(",lowerdir+=" + lower_fd.string() + ","), std::string::npos)
      << "the fd run went by name: " << by_fd.out;
  auto listing = [](const std::string& out) {
    return out.substr(0, out.rfind('\n', out.find(" / / ")) + 1);
  };
  EXPECT_EQ(listing(by_name.out), listing(by_fd.out));

  EXPECT_EQ(tree_digest(lower_fd), before) << "the lower layer was written (by fd)";
  EXPECT_EQ(tree_digest(lower_name), before) << "the lower layer was written (by name)";
  std::string written = upper_contents(dir / "name/upper");
  EXPECT_EQ(written, upper_contents(dir / "fd/upper"));
  EXPECT_NE(written.find("var/lib/app/db"), std::string::npos) << written;
  EXPECT_EQ(slurp(dir / "name/upper/etc/new-file"), "new\n");
  struct stat st {};
  ASSERT_EQ(::lstat((dir / "name/upper/etc/hosts").c_str(), &st), 0) << "no whiteout";
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST_F(PathLayersTest, LayerNamesWithColonAndBackslashAreEscaped) {
  stdfs::path odd = dir / "odd:layer\\name";
  stdfs::create_directories(odd);
  std::ofstream(odd / "marker") << "from the odd layer\n";
  stdfs::path lower = private_rootfs(dir);
  std::string before = tree_digest(lower);
  // Persistent upper under a name that needs escaping, too.
  stdfs::path layers = dir / "up:per";
  Result r = run_by_name(config(unique_name("fsodd"), "cat /marker && echo w > /written",
                                "{rootfs: " + lower.string() + ", overlay: {lower: ['" +
                                    odd.string() + "'], upper: '" + (layers / "upper").string() +
                                    "', work: '" + (layers / "work").string() + "'}}"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("from the odd layer"), std::string::npos) << r.out;
  EXPECT_EQ(slurp(layers / "upper/written"), "w\n");
  EXPECT_FALSE(stdfs::exists(odd / "written"));
  EXPECT_EQ(tree_digest(lower), before);
}

TEST_F(PathLayersTest, CommaInALayerNameIsRefusedByNameOnly) {
  stdfs::path comma = dir / "a,b";
  stdfs::create_directories(comma);
  std::ofstream(comma / "marker") << "comma layer\n";
  std::string fs_with =
      "{rootfs: " + busybox_rootfs() + ", overlay: {lower: ['" + comma.string() + "']}}";
  Result by_name = run_by_name(config(unique_name("fscomma"), "cat /marker", fs_with));
  EXPECT_EQ(by_name.exit_code, 125) << by_name.out << by_name.err;
  EXPECT_NE(by_name.err.find("overlay lower layer '" + comma.string() + "'"), std::string::npos)
      << by_name.err;
  EXPECT_NE(by_name.err.find("a ',' cannot be passed"), std::string::npos) << by_name.err;
  // By fd the name does not matter.
  Result by_fd = run_config(config(unique_name("fscomma"), "cat /marker", fs_with));
  ASSERT_EQ(by_fd.exit_code, 0) << by_fd.err;
  EXPECT_NE(by_fd.out.find("comma layer"), std::string::npos);
}

TEST_F(PathLayersTest, InMemoryUpperFallsBackToDiskAndIsRemoved) {
  std::string name = unique_name("fsmem");
  Result r = run_by_name(config(name,
                                "echo hi > /etc/ephemeral && cat /etc/ephemeral && "
                                "grep ' / / ' /proc/self/mountinfo",
                                "{rootfs: " + busybox_rootfs() + ", overlay: {}}"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("hi\n"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("the ephemeral upper goes on disk"), std::string::npos) << r.err;
  stdfs::path upper = modrt.state_root() / name / "fs/upper";
  EXPECT_NE(r.out.find("upperdir=" + upper.string()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("volatile"), std::string::npos) << r.out;
  EXPECT_FALSE(stdfs::exists(modrt.state_root() / name)) << "the disk upper outlived the run";
}

TEST_F(PathLayersTest, InMemoryUpperSizeIsRefusedByName) {
  Result r = run_by_name(config(unique_name("fssize"), "true",
                                "{rootfs: " + busybox_rootfs() + ", overlay: {size: 8M}}"));
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_NE(r.err.find("overlay.size needs the in-memory upper"), std::string::npos) << r.err;
}

TEST_F(PathLayersTest, UnderAUserNamespaceIdmapIsOffWithAWarning) {
  Result r =
      run_by_name(config(unique_name("fsuns"),
                         "stat -c %u /etc/passwd; echo t > /tmp/t && echo tmp-ok; "
                         "echo x > /etc/new-file || echo etc-refused",
                         "{rootfs: " + busybox_rootfs() + ", overlay: {}}", Variant::userns));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("idmap off: this kernel's overlayfs takes its layers by name only"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("65534\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tmp-ok"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("etc-refused"), std::string::npos) << r.out;
  EXPECT_NE((r.out + r.err).find("Permission denied"), std::string::npos) << r.out << r.err;

  // Asked for explicitly, idmapping that cannot be done is an error, not a warning.
  Result on = run_by_name(config(unique_name("fsuns"), "true",
                                 "{rootfs: " + busybox_rootfs() + ", overlay: {}, idmap: true}",
                                 Variant::userns));
  EXPECT_EQ(on.exit_code, 125) << on.err;
  EXPECT_NE(on.err.find("idmap: true: this kernel's overlayfs takes its layers by name only"),
            std::string::npos)
      << on.err;
}

TEST_F(PathLayersTest, ContainerFilesWithoutClonesOfDetachedMounts) {
  // Old kernels clone no file out of a detached tmpfs: the files' store is attached on a hidden
  // directory of /dev while the binds are cloned, and gone before the workload runs.
  stdfs::path rootfs = private_rootfs(dir);
  std::string before = tree_digest(rootfs);
  std::string name = unique_name("fsfiles");
  Result r = run_by_name(
      config(name,
             "cat /etc/resolv.conf; grep -c " + name +
                 " /etc/hosts; ls -a /dev; grep -c modrt-files /proc/self/mountinfo; "
                 "cat /proc/kcore | wc -c; ls -A /proc/acpi | wc -l; ls -A /sys/firmware | wc -l; "
                 "grep -cE ' /(proc/acpi|sys/firmware) ' /proc/self/mountinfo",
             "{rootfs: " + rootfs.string() + ", readonly: true}", Variant::userns,
             "  - plugin: net\n    with: {mode: none, dns: {nameservers: [192.0.2.53]}}\n"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("nameserver 192.0.2.53\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(".modrt-files"), std::string::npos) << r.out;
  // No store left; kcore and both masked directories empty, each covered by its own mount.
  EXPECT_NE(r.out.find("\n0\n0\n0\n0\n2\n"), std::string::npos)
      << "store or masked paths wrong: " << r.out;
  EXPECT_EQ(tree_digest(rootfs), before);
}

// readonly without an overlay on an image that lacks mount points: the skeleton layer goes by
// name too, from under the state dir, and is gone after the run; the image is not written.
TEST_F(PathLayersTest, ReadonlyImageSkeletonByName) {
  stdfs::path rootfs = private_rootfs(dir);
  stdfs::remove_all(rootfs / "tmp");
  stdfs::remove_all(rootfs / "etc");
  std::string before = tree_digest(rootfs);
  std::string name = unique_name("fsroname");
  Result r = run_by_name(config(
      name,
      "grep -c " + name +
          " /etc/hosts; touch /tmp/ok && echo tmp-ok; (touch /new) "
          "2>&1; sed -n 's|^[^ ]* [^ ]* [^ ]* [^ ]* / \\([^ ]*\\).* - \\([^ ]*\\) .*|\\1 \\2|p' "
          "/proc/self/mountinfo",
      "{rootfs: " + rootfs.string() +
          ", readonly: true, mounts: [{type: tmpfs, destination: /tmp}]}",
      Variant::root,
      "  - plugin: net\n    with: {mode: none, dns: {nameservers: "
      "[192.0.2.53]}}\n"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1\ntmp-ok\n"), std::string::npos) << r.out;
  EXPECT_NE((r.out + r.err).find("Read-only file system"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("ro,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" overlay"), std::string::npos) << r.out;
  EXPECT_EQ(tree_digest(rootfs), before);
  EXPECT_FALSE(stdfs::exists(rootfs / "tmp"));
}

}  // namespace
}  // namespace modrt::test::fs
