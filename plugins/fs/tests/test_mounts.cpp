// The `mounts:` list: bind mounts (read-only, read-write, single files, propagation) and tmpfs
// (size, mode), each with its failure case; and a read-only root that only tmpfs mounts relieve.
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "fs_test.hpp"

namespace modrt::test::fs {
namespace {

namespace stdfs = std::filesystem;

std::string slurp(const stdfs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string both(const Result& r) {
  return r.out + r.err;
}

TEST_P(FsVariantTest, BindMountReadOnlyRefusesWritesReadWriteReachesTheHost) {
  stdfs::path ro = dir / "ro", rw = dir / "rw";
  stdfs::create_directories(ro);
  stdfs::create_directories(rw);
  std::ofstream(ro / "kept") << "original\n";
  ::chmod(rw.c_str(), 0777);  // writable by the user namespace's root too
  std::string name = unique_name("fsbind");
  Result r = run_config(config(name,
                               "cat /data/ro/kept; (echo x > /data/ro/kept) 2>&1; "
                               "(echo y > /data/ro/new) 2>&1; echo hello > /data/rw/out && "
                               "echo rw-ok; grep ' /data/ro ' /proc/self/mountinfo | cut -d' ' -f6",
                               "{rootfs: " + busybox_rootfs() +
                                   ", overlay: {}, mounts: [{type: bind, source: " + ro.string() +
                                   ", destination: /data/ro, readonly: true}, {type: bind, "
                                   "source: " +
                                   rw.string() + ", destination: /data/rw}]}",
                               GetParam()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("original\n"), std::string::npos);
  EXPECT_EQ(lines_with(both(r), "Read-only file system").size(), 2u) << both(r);
  EXPECT_EQ(slurp(ro / "kept"), "original\n");
  EXPECT_FALSE(stdfs::exists(ro / "new"));
  EXPECT_NE(r.out.find("rw-ok"), std::string::npos) << both(r);
  EXPECT_EQ(slurp(rw / "out"), "hello\n");
  EXPECT_NE(r.out.find("ro,"), std::string::npos) << r.out;
}

TEST_F(FsTest, IdmappedBindIsOwnedByTheContainersRoot) {
  // A host folder owned by host root: under container 0 = host 100000 its contents are nobody's
  // and closed to the container's root, unless the bind is idmapped (then what the container's
  // root writes lands as host root, the folder's owner).
  stdfs::path data = dir / "data";
  stdfs::create_directories(data);
  ::chmod(data.c_str(), 0755);
  std::ofstream(data / "old") << "x\n";
  std::string script =
      "stat -c '%u %n' /data/old; (echo w > /data/new) 2>&1; (echo more >> /data/old) 2>&1; true";
  auto fs_with = [&](bool idmap) {
    return "{rootfs: " + busybox_rootfs() +
           ", overlay: {}, mounts: [{type: bind, source: " + data.string() +
           ", destination: /data, idmap: " + (idmap ? "true" : "false") + "}]}";
  };
  Result plain =
      run_config(config(unique_name("fsnoidb"), script, fs_with(false), Variant::userns));
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_NE(plain.out.find("65534 /data/old"), std::string::npos) << plain.out;
  EXPECT_EQ(lines_with(both(plain), "Permission denied").size(), 2u) << both(plain);
  EXPECT_FALSE(stdfs::exists(data / "new"));

  Result mapped = run_config(config(unique_name("fsidb"), script, fs_with(true), Variant::userns));
  ASSERT_EQ(mapped.exit_code, 0) << mapped.err;
  EXPECT_NE(mapped.out.find("0 /data/old"), std::string::npos) << mapped.out;
  EXPECT_EQ(both(mapped).find("Permission denied"), std::string::npos) << both(mapped);
  struct stat st {};
  ASSERT_EQ(::stat((data / "new").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(slurp(data / "old"), "x\nmore\n");
}

TEST_F(FsTest, IdmappedBindOfAFileSystemWithoutIdmapSupportFailsNamingTheLimit) {
  // sysfs cannot be idmapped on any kernel: the EINVAL every too-old kernel gives for tmpfs (< 6.3)
  // or ext4 (< 5.12), here on demand.
  Result r = run_config(config(unique_name("fsidsys"), "true",
                               "{rootfs: " + busybox_rootfs() +
                                   ", mounts: [{type: bind, source: /sys/kernel, destination: "
                                   "/k, idmap: true}]}",
                               Variant::userns));
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_NE(r.err.find("bind '/sys/kernel' for '/k': idmap: true: set mount attributes: Invalid "
                       "argument; this kernel cannot idmap the file system holding it"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("6.3 for tmpfs"), std::string::npos) << r.err;
}

TEST_F(FsTest, BindMountOfAFileCreatesItsDestination) {
  std::string src = dir.write("motd", "bound file\n");
  std::string name = unique_name("fsfile");
  Result r = run_config(config(name, "cat /opt/conf/motd; [ -d /opt/conf ] && echo dir-made",
                               "{rootfs: " + busybox_rootfs() +
                                   ", overlay: {}, mounts: [{type: bind, source: " + src +
                                   ", destination: /opt/conf/motd, readonly: true}]}"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "bound file\ndir-made\n");
  EXPECT_FALSE(stdfs::exists(stdfs::path(busybox_rootfs()) / "opt")) << "wrote into the lower";
}

TEST_F(FsTest, BindMountPropagation) {
  stdfs::path src = dir / "shared";
  stdfs::create_directories(src);
  std::string name = unique_name("fsprop");
  Result r = run_config(config(name, "grep -E ' /(a|b) ' /proc/self/mountinfo | cut -d' ' -f5,7",
                               "{rootfs: " + busybox_rootfs() +
                                   ", overlay: {}, mounts: [{type: bind, source: " + src.string() +
                                   ", destination: /a, propagation: shared}, {type: bind, "
                                   "source: " +
                                   src.string() + ", destination: /b}]}"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("/a shared:"), std::string::npos) << r.out;
  auto b = lines_with(r.out, "/b ");
  ASSERT_EQ(b.size(), 1u) << r.out;
  EXPECT_EQ(b[0].find("shared:"), std::string::npos) << "private is the default: " << b[0];
}

TEST_P(FsVariantTest, TmpfsSizeAndModeAreEnforced) {
  std::string name = unique_name("fstmp");
  Result r = run_config(config(
      name,
      "stat -c 'mode=%a' /scratch; dd if=/dev/zero of=/scratch/small bs=1024 count=512 "
      "2>/dev/null && echo small-ok; (dd if=/dev/zero of=/scratch/big bs=1024 count=2048) "
      "2>&1; df -k /scratch | tail -1",
      "{rootfs: " + busybox_rootfs() +
          ", overlay: {}, mounts: [{type: tmpfs, destination: /scratch, size: 1M, mode: 1770}]}",
      GetParam()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("mode=1770"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("small-ok"), std::string::npos) << r.out;
  EXPECT_NE(both(r).find("No space left on device"), std::string::npos) << both(r);
  EXPECT_NE(r.out.find(" 1024 "), std::string::npos) << r.out;  // df: 1024 1K-blocks
}

TEST_P(FsVariantTest, ReadonlyRootRefusesWritesOutsideTmpfsMounts) {
  std::string name = unique_name("fsro");
  Result r = run_config(
      config(name,
             "(touch /new) 2>&1; (echo x >> /etc/passwd) 2>&1; touch /tmp/ok && echo tmp-ok; "
             "touch /dev/shm/ok && echo shm-ok; grep ' / / ' /proc/self/mountinfo | cut -d' ' -f6",
             "{rootfs: " + busybox_rootfs() +
                 ", overlay: {}, readonly: true, mounts: [{type: tmpfs, destination: /tmp}]}",
             GetParam()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines_with(both(r), "Read-only file system").size(), 2u) << both(r);
  EXPECT_NE(r.out.find("tmp-ok"), std::string::npos) << both(r);
  EXPECT_NE(r.out.find("shm-ok"), std::string::npos) << both(r);
  EXPECT_NE(r.out.find("\nro,"), std::string::npos) << r.out;
}

TEST_F(FsTest, WritableRootIsTheDefault) {
  // The failure case beside the read-only root: without `readonly`, the same write works.
  Result r = run_config(config(unique_name("fsrw"), "touch /new && echo root-rw",
                               "{rootfs: " + busybox_rootfs() + ", overlay: {}}"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "root-rw\n");
}

TEST_P(FsVariantTest, ContainerFilesOfOtherStagesAreBoundIn) {
  // The net stage (mode none: no links, no host changes) queues /etc/resolv.conf and /etc/hosts;
  // fs places them over the image's files without writing the image, even with a read-only root.
  stdfs::path rootfs = private_rootfs(dir);
  std::string before = tree_digest(rootfs);
  std::string name = unique_name("fsfiles");
  Result r = run_config(
      config(name,
             "cat /etc/resolv.conf; grep -c " + name +
                 " /etc/hosts; stat -c '%u %a' /etc/resolv.conf; "
                 "grep -cE ' /etc/(hosts|resolv.conf) ' /proc/self/mountinfo",
             "{rootfs: " + rootfs.string() + ", readonly: true}", GetParam(),
             "  - plugin: net\n    with: {mode: none, dns: {nameservers: [192.0.2.53]}}\n"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("nameserver 192.0.2.53\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n1\n0 644\n2\n"), std::string::npos) << r.out;
  EXPECT_EQ(tree_digest(rootfs), before);
}

}  // namespace
}  // namespace modrt::test::fs
