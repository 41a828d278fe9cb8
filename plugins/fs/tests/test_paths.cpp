// Paths locked down inside: masked paths read empty, read-only paths refuse writes, and a mount
// destination that would leave the rootfs through a symlink or `..` is refused.
#include <fstream>

#include "fs_test.hpp"

namespace modrt::test::fs {
namespace {

namespace stdfs = std::filesystem;

std::string both(const Result& r) {
  return r.out + r.err;
}

TEST_P(FsVariantTest, MaskedPathsReadEmpty) {
  stdfs::path rootfs = private_rootfs(dir);
  std::ofstream(rootfs / "etc/secret") << "do not show\n";
  stdfs::create_directories(rootfs / "srv/private");
  std::ofstream(rootfs / "srv/private/key") << "k\n";
  std::string script =
      "echo interrupts=$(wc -c < /proc/interrupts); echo acpi=$(ls -A /proc/acpi | wc -l); "
      "echo firmware=$(ls -A /sys/firmware | wc -l); echo secret=$(wc -c < /etc/secret); "
      "echo private=$(ls -A /srv/private | wc -l); (echo x > /srv/private/new) 2>&1; true";
  Result masked = run_config(config(unique_name("fsmask"), script,
                                    "{rootfs: " + rootfs.string() +
                                        ", overlay: {}, masked_paths: [/proc/interrupts, "
                                        "/proc/acpi, /sys/firmware, /etc/secret, /srv/private]}",
                                    GetParam()));
  ASSERT_EQ(masked.exit_code, 0) << masked.err;
  for (const char* line :
       {"interrupts=0\n", "acpi=0\n", "firmware=0\n", "secret=0\n", "private=0\n"})
    EXPECT_NE(masked.out.find(line), std::string::npos) << line << " in:\n" << masked.out;
  EXPECT_NE(both(masked).find("Read-only file system"), std::string::npos) << both(masked);

  // The failure case beside it: with no masked paths the same reads show content.
  Result open = run_config(
      config(unique_name("fsunmask"), script,
             "{rootfs: " + rootfs.string() + ", overlay: {}, masked_paths: []}", GetParam()));
  ASSERT_EQ(open.exit_code, 0) << open.err;
  EXPECT_EQ(open.out.find("interrupts=0\n"), std::string::npos) << open.out;
  EXPECT_NE(open.out.find("secret=12\n"), std::string::npos) << open.out;
  EXPECT_NE(open.out.find("private=1\n"), std::string::npos) << open.out;
}

TEST_P(FsVariantTest, DefaultMaskedAndReadonlyPaths) {
  Result r = run_config(config(unique_name("fsdef"),
                               "wc -c < /proc/interrupts; ls -A /sys/firmware | wc -l; "
                               "grep -E ' /proc/(sys|sysrq-trigger|bus|fs|irq) ' "
                               "/proc/self/mountinfo | cut -d' ' -f5,6",
                               "{rootfs: " + busybox_rootfs() + "}", GetParam()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, 4), "0\n0\n") << r.out;
  // (/proc/sysrq-trigger is listed too, but kernels without MAGIC_SYSRQ have none to protect.)
  for (const char* p : {"/proc/sys ro,", "/proc/irq ro,", "/proc/bus ro,", "/proc/fs ro,"})
    EXPECT_NE(r.out.find(p), std::string::npos) << p << " in:\n" << r.out;
}

TEST_P(FsVariantTest, ReadonlyPathsRefuseWrites) {
  // kernel.hostname belongs to the container's own uts namespace: a write that slipped through
  // would change nothing on the host.
  std::string script =
      "(echo inside > /proc/sys/kernel/hostname) 2>&1; (echo x > /www/new) 2>&1; "
      "echo x > /etc/writable && echo etc-ok";
  Result r = run_config(
      config(unique_name("fsrop"), script,
             "{rootfs: " + busybox_rootfs() + ", overlay: {}, readonly_paths: [/proc/sys, /www]}",
             GetParam()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines_with(both(r), "Read-only file system").size(), 2u) << both(r);
  EXPECT_NE(r.out.find("etc-ok"), std::string::npos) << both(r);

  // Beside it: without the read-only paths both writes succeed.
  Result open = run_config(
      config(unique_name("fsrwp"), script + " && cat /www/new",
             "{rootfs: " + busybox_rootfs() + ", overlay: {}, readonly_paths: []}", GetParam()));
  ASSERT_EQ(open.exit_code, 0) << open.err;
  EXPECT_EQ(both(open).find("Read-only file system"), std::string::npos) << both(open);
}

TEST_P(FsVariantTest, DestinationSymlinkOutOfTheRootfsIsRefused) {
  stdfs::path rootfs = private_rootfs(dir);
  stdfs::path host = dir / "host";
  stdfs::create_directories(host);
  stdfs::remove_all(rootfs / "etc");
  // From dir/rootfs, "/../../host" read on the host would be dir/../host; inside, it must not
  // resolve anywhere: the mount is refused before anything is created.
  stdfs::create_directory_symlink("/../../host", rootfs / "etc");
  stdfs::create_directory_symlink("../../host", rootfs / "rel");
  for (const char* dest : {"/etc/x", "/rel/x"}) {
    std::string name = unique_name("fsesc");
    Result r =
        run_config(config(name, "echo ran",
                          "{rootfs: " + rootfs.string() +
                              ", overlay: {}, mounts: [{type: tmpfs, destination: " + dest + "}]}",
                          GetParam()));
    EXPECT_EQ(r.exit_code, 125) << dest << ": " << both(r);
    EXPECT_EQ(r.out.find("ran"), std::string::npos);
    EXPECT_NE(r.err.find("leaves the container's root"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(dest), std::string::npos) << r.err;
    EXPECT_TRUE(stdfs::is_empty(host));
    EXPECT_FALSE(stdfs::exists(dir.path().parent_path() / "host" / "x"));
    EXPECT_FALSE(stdfs::exists(modrt.state_root() / name));
  }
}

TEST_F(FsTest, DotDotDestinationIsAConfigError) {
  std::string yaml = config(unique_name("fsdots"), "true",
                            "{rootfs: " + busybox_rootfs() +
                                ", mounts: [{type: tmpfs, destination: /tmp/../../../etc}]}");
  Result v = modrt.run({"validate", "-c", write_config(yaml)});
  EXPECT_EQ(v.exit_code, 2);
  EXPECT_NE(v.err.find("stages[1].with.mounts[0].destination"), std::string::npos) << v.err;
  EXPECT_NE(v.err.find("climbs out of the container's root"), std::string::npos) << v.err;
}

TEST_F(FsTest, SymlinkInsideTheRootfsIsFollowedInside) {
  // An absolute symlink that stays inside the image is fine: /var/run -> /run style.
  stdfs::path rootfs = private_rootfs(dir);
  stdfs::create_directory_symlink("/run", rootfs / "rundir");
  Result r = run_config(config(unique_name("fsin"), "grep -c ' /run/x ' /proc/self/mountinfo",
                               "{rootfs: " + rootfs.string() +
                                   ", overlay: {}, mounts: [{type: tmpfs, destination: "
                                   "/rundir/x}]}"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n");
}

}  // namespace
}  // namespace modrt::test::fs
