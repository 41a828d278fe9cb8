// Symlinks in the image where the fs stage mounts: /proc, /sys and /dev must be real directories
// (a symlink there, even one that stays inside the root, carried proc away from /proc and left the
// masked paths with nothing to cover), refused before anything is mounted with one message; the
// container files (/etc/resolv.conf, /etc/hosts) follow the image's symlinks inside the root, as
// real images need, but never out of it and never into /proc, /sys or /dev. A masked or read-only
// path is skipped only where the kernel lacks it.
#include <fstream>
#include <sstream>

#include "fs_test.hpp"

namespace modrt::test::fs {
namespace {

namespace stdfs = std::filesystem;

std::string read_file(const stdfs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> listing(const stdfs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : stdfs::directory_iterator(dir)) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

constexpr const char* kFix =
    "; the kernel file systems (/proc, /sys, /dev) must be mounted on real directories of the "
    "image, or the masked and read-only paths under them would protect nothing: replace it with "
    "a directory in the image";

enum class Link { absolute_inside, relative_inside, climbing };
enum class Root { bind, overlay, readonly };

struct KernelDirCase {
  std::string path;  // "proc", "sys", "dev"
  Link link;
  Root root;
};

std::string case_name(const ::testing::TestParamInfo<KernelDirCase>& info) {
  const auto& c = info.param;
  const char* link[] = {"AbsoluteInside", "RelativeInside", "Climbing"};
  const char* root[] = {"Bind", "Overlay", "Readonly"};
  return c.path + "_" + link[static_cast<int>(c.link)] + "_" + root[static_cast<int>(c.root)];
}

class FsKernelDirSymlinkTest : public FsTest,
                               public ::testing::WithParamInterface<KernelDirCase> {};

TEST_P(FsKernelDirSymlinkTest, IsRefusedBeforeAnythingIsMounted) {
  const KernelDirCase& c = GetParam();
  stdfs::path rootfs = private_rootfs(dir);
  // The target on the host: what a climbing link aims at, and what an absolute one names.
  stdfs::path host = dir / "host-target";
  stdfs::create_directories(host);
  std::ofstream(host / "marker") << "host marker\n";
  // The image's own directory an inside link points to (so the link is not even dangling).
  stdfs::create_directories(rootfs / "tmp/x");
  std::string link;
  switch (c.link) {
    case Link::absolute_inside:
      link = "/tmp/x";
      break;
    case Link::relative_inside:
      link = "tmp/x";
      break;
    case Link::climbing:
      link = host.string().substr(1);
      for (int i = 0; i < 16; ++i) link = "../" + link;
      break;
  }
  stdfs::remove_all(rootfs / c.path);
  stdfs::create_directory_symlink(link, rootfs / c.path);
  std::string before = tree_digest(rootfs);

  std::string fs_with = "{rootfs: " + rootfs.string();
  if (c.root == Root::overlay) fs_with += ", overlay: {}";
  if (c.root == Root::readonly) fs_with += ", readonly: true";
  fs_with += ", mounts: [{type: tmpfs, destination: /tmp}]}";
  std::string name = unique_name("fslink");
  Result r = run_config(config(name, "echo ran; ls /tmp/x", fs_with));

  EXPECT_EQ(r.exit_code, 125) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  std::string root =
      (c.root == Root::overlay ? "the overlay over rootfs '" : "rootfs '") + rootfs.string() + "'";
  std::string expected = c.link == Link::climbing
                             ? root + ": '/" + c.path +
                                   "' leaves the container's root: symlink '/" + c.path + "' -> '" +
                                   link + "'" + kFix
                             : root + ": '/" + c.path + "' is a symlink to '" + link + "'" + kFix;
  EXPECT_NE(r.err.find(expected), std::string::npos) << "want: " << expected << "\ngot: " << r.err;
  // In apply_host, before the workload mounted anything; nothing else complained first, and the
  // read-only image got no skeleton planned through the link.
  EXPECT_NE(r.err.find("apply_host"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("skeleton"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("mask '"), std::string::npos) << r.err;

  EXPECT_EQ(listing(host), std::vector<std::string>{"marker"});
  EXPECT_EQ(read_file(host / "marker"), "host marker\n");
  EXPECT_TRUE(stdfs::is_symlink(rootfs / c.path));
  EXPECT_EQ(tree_digest(rootfs), before);
  EXPECT_FALSE(stdfs::exists(modrt.state_root() / name));
}

std::vector<KernelDirCase> kernel_dir_cases() {
  std::vector<KernelDirCase> out;
  for (const char* path : {"proc", "sys", "dev"})
    for (Link link : {Link::absolute_inside, Link::relative_inside, Link::climbing})
      out.push_back({path, link, Root::overlay});
  // The other two ways of making the root, with the case of the report (proc -> /tmp/x).
  out.push_back({"proc", Link::absolute_inside, Root::bind});
  out.push_back({"proc", Link::absolute_inside, Root::readonly});
  out.push_back({"dev", Link::absolute_inside, Root::bind});
  out.push_back({"sys", Link::climbing, Root::readonly});
  return out;
}

INSTANTIATE_TEST_SUITE_P(Image, FsKernelDirSymlinkTest, ::testing::ValuesIn(kernel_dir_cases()),
                         case_name);

TEST_P(FsVariantTest, ASymlinkedProcInAnOverlayLowerLayerIsRefused) {
  // The overlay's merged view counts: a layer stacked over a good image brings the link.
  stdfs::path lower = dir / "lower";
  stdfs::create_directories(lower);
  stdfs::create_directory_symlink("/etc", lower / "proc");
  std::string name = unique_name("fslower");
  Result r = run_config(
      config(name, "echo ran",
             "{rootfs: " + busybox_rootfs() + ", overlay: {lower: [" + lower.string() + "]}}",
             GetParam()));
  EXPECT_EQ(r.exit_code, 125) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  std::string expected =
      "the overlay over rootfs '" + busybox_rootfs() + "': '/proc' is a symlink to '/etc'" + kFix;
  EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
  EXPECT_TRUE(stdfs::is_symlink(lower / "proc"));
  EXPECT_FALSE(stdfs::exists(modrt.state_root() / name));
}

TEST_F(FsTest, AProcThatIsAFileIsRefused) {
  stdfs::path rootfs = private_rootfs(dir);
  stdfs::remove_all(rootfs / "proc");
  std::ofstream(rootfs / "proc") << "no\n";
  Result r = run_config(
      config(unique_name("fsfile"), "echo ran", "{rootfs: " + rootfs.string() + ", overlay: {}}"));
  EXPECT_EQ(r.exit_code, 125) << r.out << r.err;
  EXPECT_NE(r.err.find("'/proc' is not a directory" + std::string(kFix)), std::string::npos)
      << r.err;
}

// The net stage (mode none: no host changes) queues /etc/resolv.conf and /etc/hosts.
const std::string kNet =
    "  - plugin: net\n    with: {mode: none, dns: {nameservers: [192.0.2.53]}}\n";

TEST_P(FsVariantTest, ContainerFilesFollowTheImagesSymlinksInsideTheRoot) {
  // The shapes real images have: a relative link into /run (systemd's stub-resolv.conf, dangling
  // in the image), and an absolute one. The files land where the links point, inside the root;
  // the host's paths of the same names are not touched, nor is the image.
  stdfs::path rootfs = private_rootfs(dir);
  std::string tag = unique_name("fsetc");
  std::string host_run = "/run/" + tag;  // what the absolute link would name on the host
  stdfs::remove(rootfs / "etc/resolv.conf");
  stdfs::remove(rootfs / "etc/hosts");
  stdfs::create_symlink("../run/systemd/resolve/stub-resolv.conf", rootfs / "etc/resolv.conf");
  stdfs::create_symlink(host_run + "/hosts", rootfs / "etc/hosts");
  std::string before = tree_digest(rootfs);
  std::string script =
      "grep -c 192.0.2.53 /etc/resolv.conf /run/systemd/resolve/stub-resolv.conf; grep -c " + tag +
      " /etc/hosts " + host_run + "/hosts; readlink /etc/resolv.conf; readlink /etc/hosts";
  for (const char* mode : {", overlay: {}", ", readonly: true",
                           ", overlay: {}, mounts: [{type: tmpfs, destination: /run}]"}) {
    Result r = run_config(
        config(tag, script, "{rootfs: " + rootfs.string() + mode + "}", GetParam(), kNet));
    ASSERT_EQ(r.exit_code, 0) << mode << ": " << r.err;
    EXPECT_EQ(r.out, "/etc/resolv.conf:1\n/run/systemd/resolve/stub-resolv.conf:1\n/etc/hosts:1\n" +
                         host_run + "/hosts:1\n../run/systemd/resolve/stub-resolv.conf\n" +
                         host_run + "/hosts\n")
        << mode;
    EXPECT_EQ(tree_digest(rootfs), before) << mode;
    EXPECT_FALSE(stdfs::exists(host_run)) << mode;
  }
}

TEST_P(FsVariantTest, AContainerFileSymlinkOutOfTheRootIsRefused) {
  stdfs::path rootfs = private_rootfs(dir);
  stdfs::path host = dir / "host-etc";
  stdfs::create_directories(host);
  std::ofstream(host / "hosts") << "host's hosts\n";
  std::string link = (host / "hosts").string().substr(1);
  for (int i = 0; i < 16; ++i) link = "../" + link;
  stdfs::remove(rootfs / "etc/hosts");
  stdfs::create_symlink(link, rootfs / "etc/hosts");
  std::string name = unique_name("fsetcesc");
  Result r = run_config(config(name, "echo ran; cat /etc/hosts",
                               "{rootfs: " + rootfs.string() + ", overlay: {}}", GetParam(), kNet));
  EXPECT_EQ(r.exit_code, 125) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("place '/etc/hosts': '/etc/hosts' leaves the container's root: symlink "
                       "'/etc/hosts' -> '" +
                       link + "'"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(listing(host), std::vector<std::string>{"hosts"});
  EXPECT_EQ(read_file(host / "hosts"), "host's hosts\n");
  EXPECT_FALSE(stdfs::exists(modrt.state_root() / name));
}

TEST_P(FsVariantTest, NothingIsMountedIntoProcSysOrDevThroughASymlink) {
  // /etc/resolv.conf -> /dev/null would make the container's /dev/null (the cover of every masked
  // file) the resolver's config; a mount destination led into /proc/sys would cover the kernel's
  // files. Both refused naming the link.
  stdfs::path rootfs = private_rootfs(dir);
  stdfs::remove(rootfs / "etc/resolv.conf");
  stdfs::create_symlink("/dev/null", rootfs / "etc/resolv.conf");
  stdfs::create_directory_symlink("proc/sys/kernel", rootfs / "data");
  std::string before = tree_digest(rootfs);

  Result files =
      run_config(config(unique_name("fsdevnull"), "echo ran",
                        "{rootfs: " + rootfs.string() + ", overlay: {}}", GetParam(), kNet));
  EXPECT_EQ(files.exit_code, 125) << files.out << files.err;
  EXPECT_EQ(files.out, "");
  EXPECT_NE(files.err.find("place '/etc/resolv.conf': '/etc/resolv.conf' leads into the "
                           "container's /dev through the image's symlink '/etc/resolv.conf' -> "
                           "'/dev/null' (it reaches '/dev/null'): nothing is mounted into /proc, "
                           "/sys or /dev by way of a symlink"),
            std::string::npos)
      << files.err;

  Result mount = run_config(config(
      unique_name("fsdata"), "echo ran",
      "{rootfs: " + rootfs.string() + ", overlay: {}, mounts: [{type: tmpfs, destination: /data}]}",
      GetParam()));
  EXPECT_EQ(mount.exit_code, 125) << mount.out << mount.err;
  EXPECT_EQ(mount.out, "");
  EXPECT_NE(mount.err.find("mount tmpfs on '/data': '/data' leads into the container's /proc "
                           "through the image's symlink '/data' -> 'proc/sys/kernel' (it "
                           "reaches '/proc/sys/kernel')"),
            std::string::npos)
      << mount.err;
  EXPECT_EQ(tree_digest(rootfs), before);

  // Beside them: a destination that names /dev itself is the config's own choice, and works.
  Result direct = run_config(
      config(unique_name("fsdevdir"), "grep -c ' /dev/extra ' /proc/self/mountinfo",
             "{rootfs: " + busybox_rootfs() + ", mounts: [{type: tmpfs, destination: /dev/extra}]}",
             GetParam()));
  EXPECT_EQ(direct.exit_code, 0) << direct.err;
  EXPECT_EQ(direct.out, "1\n");
}

TEST_P(FsVariantTest, AMaskedPathIsSkippedOnlyWhereTheKernelLacksIt) {
  // Paths this kernel has no such thing for are skipped (the run works), also below a directory
  // masked just before; the same paths hidden by a tmpfs over /proc or /sys are refused instead
  // of skipped in silence.
  Result fine = run_config(config(unique_name("fsmissing"), "ls -A /sys/firmware | wc -l",
                                  "{rootfs: " + busybox_rootfs() +
                                      ", masked_paths: [/proc/modrt-no-such, /sys/firmware, "
                                      "/sys/firmware/modrt-no-such, /sys/modrt/no/such], "
                                      "readonly_paths: [/proc/sys, /proc/modrt-no-such]}",
                                  GetParam()));
  ASSERT_EQ(fine.exit_code, 0) << fine.err;
  EXPECT_EQ(fine.out, "0\n");

  Result proc = run_config(
      config(unique_name("fsproctmp"), "echo ran",
             "{rootfs: " + busybox_rootfs() + ", mounts: [{type: tmpfs, destination: /proc}]}",
             GetParam()));
  EXPECT_EQ(proc.exit_code, 125) << proc.out << proc.err;
  EXPECT_EQ(proc.out, "");
  // The first of the default read-only paths already meets the tmpfs.
  EXPECT_NE(proc.err.find("make '/proc/bus' read-only: '/proc/bus' does not exist, and '/proc' on "
                          "the way is not the kernel's but a tmpfs (a `mounts:` entry covering "
                          "it?): a path to protect is skipped only where the kernel lacks it"),
            std::string::npos)
      << proc.err;

  Result sys = run_config(config(unique_name("fssystmp"), "echo ran",
                                 "{rootfs: " + busybox_rootfs() +
                                     ", mounts: [{type: tmpfs, destination: /sys/devices}], "
                                     "readonly_paths: []}",
                                 GetParam()));
  EXPECT_EQ(sys.exit_code, 125) << sys.out << sys.err;
  EXPECT_NE(sys.err.find("mask '/sys/devices/virtual/powercap': '/sys/devices/virtual/powercap' "
                         "does not exist, and '/sys/devices' on the way is not the kernel's but a "
                         "tmpfs"),
            std::string::npos)
      << sys.err;
}

}  // namespace
}  // namespace modrt::test::fs
