// `readonly: true` without an overlay: the image is never written, not even by the mount points
// modrt needs. Those the image lacks come from a skeleton layer stacked over it; an image that has
// them all is bound read-only from the start. (A writable plain rootfs is the user's own directory:
// there modrt makes missing mount points in it, which the last test shows.)
#include <sys/stat.h>

#include <fstream>

#include "fs_test.hpp"

namespace modrt::test::fs {
namespace {

namespace stdfs = std::filesystem;

std::string both(const Result& r) {
  return r.out + r.err;
}

// The tree's digest (names, modes, owners, sizes, mtimes, contents) plus the root's own mtime,
// which changes when an entry is created in it even if that entry was removed again.
std::string listing(const stdfs::path& root) {
  struct stat st {};
  ::lstat(root.c_str(), &st);
  return tree_digest(root) + " root " + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec) + " " + std::to_string(st.st_mode);
}

constexpr const char* kNetFiles =
    "  - plugin: net\n    with: {mode: none, dns: {nameservers: [192.0.2.53]}}\n";

TEST_P(FsVariantTest, ReadonlyWithoutOverlayMakesMissingMountPointsWithoutWritingTheImage) {
  stdfs::path rootfs = private_rootfs(dir);
  stdfs::remove_all(rootfs / "tmp");
  stdfs::remove_all(rootfs / "etc");
  stdfs::remove_all(rootfs / "sys");
  stdfs::path conf = dir / "app.conf";
  std::ofstream(conf) << "from the host\n";
  struct stat image_root {};
  ASSERT_EQ(::stat(rootfs.c_str(), &image_root), 0);
  std::string before = listing(rootfs);
  std::string name = unique_name("fsroimg");
  Result r = run_config(
      config(name,
             "cat /etc/resolv.conf /opt/app/app.conf; grep -c " + name +
                 " /etc/hosts; stat -c '%u %a' / /etc /opt; ls /sys | grep -c kernel; "
                 "touch /tmp/ok && echo tmp-ok; (touch /new) 2>&1; (mkdir /etc/x) 2>&1; "
                 "grep ' / / ' /proc/self/mountinfo | cut -d' ' -f6",
             "{rootfs: " + rootfs.string() +
                 ", readonly: true, mounts: [{type: tmpfs, destination: /tmp}, {type: bind, "
                 "source: " +
                 conf.string() + ", destination: /opt/app/app.conf, readonly: true}]}",
             GetParam(), kNetFiles),
      {"--log-level", "info"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(listing(rootfs), before) << "the image was written";
  EXPECT_FALSE(stdfs::exists(rootfs / "tmp"));
  EXPECT_FALSE(stdfs::exists(rootfs / "etc"));
  EXPECT_NE(r.err.find("the image has no /sys, /tmp, /opt, /opt/app, /opt/app/app.conf, /etc, "
                       "/etc/resolv.conf, /etc/hosts"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("nameserver 192.0.2.53\nfrom the host\n1\n"), std::string::npos) << r.out;
  // "/" shows the image root's mode; what the image lacked belongs to the container's root.
  char root_mode[8];
  std::snprintf(root_mode, sizeof root_mode, "%o", image_root.st_mode & 07777);
  EXPECT_NE(r.out.find("0 " + std::string(root_mode) + "\n0 755\n0 755\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\n1\ntmp-ok\n"), std::string::npos) << r.out;  // /sys has its sysfs
  EXPECT_EQ(lines_with(both(r), "Read-only file system").size(), 2u) << both(r);
  EXPECT_NE(r.out.find("\nro,"), std::string::npos) << r.out;
}

// The failure case beside it: the image has every mount point, so there is no skeleton, and the
// root is a read-only bind of the image (not an overlay) before the workload mounts anything.
TEST_P(FsVariantTest, ReadonlyWithoutOverlayOnACompleteImageIsAReadOnlyBind) {
  stdfs::path rootfs = private_rootfs(dir);
  std::string before = listing(rootfs);
  Result r = run_config(
      config(unique_name("fsrobind"),
             "sed -n 's|^[^ ]* [^ ]* [^ ]* [^ ]* / \\([^ ]*\\).* - \\([^ ]*\\) .*|\\1 \\2|p' "
             "/proc/self/mountinfo; "
             "(touch /new) 2>&1; true",
             "{rootfs: " + rootfs.string() +
                 ", readonly: true, mounts: [{type: tmpfs, destination: /tmp}]}",
             GetParam()),
      {"--log-level", "info"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("skeleton"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("overlay"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ro,"), std::string::npos) << r.out;
  EXPECT_EQ(lines_with(both(r), "Read-only file system").size(), 1u) << both(r);
  EXPECT_EQ(listing(rootfs), before);
}

// A mount point below a read-only bind is not the image's to hold: it cannot be made, and the run
// says which one and what to do, without writing the bind's source.
TEST_F(FsTest, AMissingMountPointInsideAReadOnlyBindIsRefusedNamingIt) {
  stdfs::path data = dir / "data";
  stdfs::create_directories(data);
  std::string before = listing(data);
  Result r =
      run_config(config(unique_name("fsrobad"), "true",
                        "{rootfs: " + busybox_rootfs() +
                            ", readonly: true, mounts: [{type: bind, source: " + data.string() +
                            ", destination: /data, readonly: true}, {type: tmpfs, "
                            "destination: /data/cache}]}"));
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_NE(r.err.find("create '/data/cache' as a mount point: it is missing and the file system "
                       "that would hold it is read-only"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("give the fs stage an overlay"), std::string::npos) << r.err;
  EXPECT_EQ(listing(data), before);
}

// A writable rootfs without an overlay is the user's own directory, written by the workload
// anyway: modrt makes the mount points it lacks in it, as runc and crun do, and they stay.
TEST_F(FsTest, AWritableRootfsWithoutOverlayGetsTheMissingMountPoints) {
  stdfs::path rootfs = private_rootfs(dir);
  stdfs::remove_all(rootfs / "tmp");
  Result r = run_config(
      config(unique_name("fsrwmp"), "touch /tmp/x && echo ok",
             "{rootfs: " + rootfs.string() + ", mounts: [{type: tmpfs, destination: /tmp}]}"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "ok\n");
  EXPECT_TRUE(stdfs::is_directory(rootfs / "tmp"));
  EXPECT_TRUE(stdfs::is_empty(rootfs / "tmp"));  // the write went to the tmpfs
}

}  // namespace
}  // namespace modrt::test::fs
