// resolve_in_root on a real directory tree: symlinks are followed inside the root, anything that
// would climb out of it is refused, and missing components are created only when asked.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "modrt/error.hpp"
#include "resolve.hpp"

namespace modrt::fs {
namespace {

namespace stdfs = std::filesystem;

class ResolveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = stdfs::temp_directory_path() / ("modrt-fs-res-" + std::to_string(::getpid()));
    root_ = base_ / "root";
    stdfs::create_directories(root_ / "etc");
    stdfs::create_directories(root_ / "usr/lib");
    stdfs::create_directories(base_ / "host");
    std::ofstream(base_ / "host/secret") << "host";
    std::ofstream(root_ / "etc/passwd") << "root";
    root_fd_ = open_fd(root_.c_str(), O_PATH | O_DIRECTORY);
  }
  void TearDown() override { stdfs::remove_all(base_); }

  // The real path behind an O_PATH fd.
  static stdfs::path where(const UniqueFd& fd) {
    return stdfs::read_symlink("/proc/self/fd/" + std::to_string(fd.get()));
  }
  std::string error_of(const std::string& path, Create create = Create::none) {
    try {
      resolve_in_root(root_fd_.get(), path, create);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  stdfs::path base_, root_;
  UniqueFd root_fd_;
};

TEST_F(ResolveTest, PlainPaths) {
  EXPECT_EQ(where(resolve_in_root(root_fd_.get(), "/etc/passwd", Create::none)),
            root_ / "etc/passwd");
  EXPECT_EQ(where(resolve_in_root(root_fd_.get(), "/", Create::none)), root_);
  EXPECT_EQ(where(resolve_in_root(root_fd_.get(), "//usr/./lib/", Create::none)),
            root_ / "usr/lib");
}

TEST_F(ResolveTest, AbsoluteSymlinksStayInsideTheRoot) {
  stdfs::create_directory_symlink("/usr/lib", root_ / "lib");
  EXPECT_EQ(where(resolve_in_root(root_fd_.get(), "/lib", Create::none)), root_ / "usr/lib");
  stdfs::create_directory_symlink("../usr", root_ / "etc/up");
  EXPECT_EQ(where(resolve_in_root(root_fd_.get(), "/etc/up/lib", Create::none)), root_ / "usr/lib");
}

TEST_F(ResolveTest, SymlinkOutOfTheRootIsRefused) {
  stdfs::remove_all(root_ / "etc");
  stdfs::create_directory_symlink("/../../host", root_ / "etc");
  std::string e = error_of("/etc/secret", Create::file);
  EXPECT_NE(e.find("leaves the container's root"), std::string::npos) << e;
  EXPECT_NE(e.find("'/etc' -> '/../../host'"), std::string::npos) << e;
  EXPECT_FALSE(stdfs::exists(base_ / "host/secret.new"));

  stdfs::create_directory_symlink("../../host", root_ / "rel");
  EXPECT_NE(error_of("/rel/x", Create::directory).find("symlink '/rel' -> '../../host'"),
            std::string::npos);
  EXPECT_FALSE(stdfs::exists(base_ / "host/x"));
  try {
    resolve_in_root(root_fd_.get(), "/rel", Create::none);
    FAIL();
  } catch (const Error& err) {
    EXPECT_EQ(err.error_code(), EXDEV);
  }
}

TEST_F(ResolveTest, DotDotAboveTheRootIsRefused) {
  EXPECT_NE(error_of("/../host/secret").find("through '..'"), std::string::npos);
  EXPECT_EQ(where(resolve_in_root(root_fd_.get(), "/etc/../usr", Create::none)), root_ / "usr");
}

TEST_F(ResolveTest, CreatesMissingComponents) {
  EXPECT_NE(error_of("/data/x").find("No such file or directory"), std::string::npos);
  EXPECT_FALSE(stdfs::exists(root_ / "data"));

  UniqueFd dir = resolve_in_root(root_fd_.get(), "/data/x", Create::directory);
  EXPECT_TRUE(stdfs::is_directory(root_ / "data/x"));
  UniqueFd file = resolve_in_root(root_fd_.get(), "/srv/conf/app.ini", Create::file);
  EXPECT_TRUE(stdfs::is_regular_file(root_ / "srv/conf/app.ini"));
  EXPECT_TRUE(stdfs::is_directory(root_ / "srv/conf"));
  // Existing entries are used as they are.
  UniqueFd again = resolve_in_root(root_fd_.get(), "/etc/passwd", Create::file);
  EXPECT_EQ(where(again), root_ / "etc/passwd");
}

TEST_F(ResolveTest, DanglingSymlinkIsCreatedInsideTheRoot) {
  stdfs::create_symlink("/run/resolv.conf", root_ / "etc/resolv.conf");
  UniqueFd fd = resolve_in_root(root_fd_.get(), "/etc/resolv.conf", Create::file);
  EXPECT_EQ(where(fd), root_ / "run/resolv.conf");
  EXPECT_FALSE(stdfs::exists("/run/resolv.conf.modrt-test-never"));
}

TEST_F(ResolveTest, FileInTheMiddleIsNotADirectory) {
  EXPECT_NE(error_of("/etc/passwd/x", Create::directory).find("Not a directory"),
            std::string::npos);
}

TEST_F(ResolveTest, SymlinkLoopsEnd) {
  stdfs::create_symlink("/loop", root_ / "loop");
  EXPECT_NE(error_of("/loop").find("Too many levels of symbolic links"), std::string::npos);
}

TEST_F(ResolveTest, ReachedSaysWhereTheImagesSymlinksLed) {
  stdfs::create_directories(root_ / "run");
  stdfs::create_symlink("../run/resolv.conf", root_ / "etc/resolv.conf");
  Reached reached;
  UniqueFd fd = resolve_in_root(root_fd_.get(), "/etc/resolv.conf", Create::file, &reached);
  EXPECT_EQ(where(fd), root_ / "run/resolv.conf");
  EXPECT_EQ(reached.path, "/run/resolv.conf");
  EXPECT_EQ(reached.via, "'/etc/resolv.conf' -> '../run/resolv.conf'");
  // Without a symlink on the way: the path itself, `..` applied, and no link.
  resolve_in_root(root_fd_.get(), "/usr/../etc/passwd", Create::none, &reached);
  EXPECT_EQ(reached.path, "/etc/passwd");
  EXPECT_EQ(reached.via, "");
  // An absolute link restarts at the root.
  stdfs::create_symlink("/run/hosts", root_ / "etc/hosts");
  resolve_in_root(root_fd_.get(), "/etc/hosts", Create::file, &reached);
  EXPECT_EQ(reached.path, "/run/hosts");
  EXPECT_EQ(reached.via, "'/etc/hosts' -> '/run/hosts'");
}

TEST(PathLogic, RedirectsIntoKernelTreesAreRefused) {
  auto error_of = [](std::string_view path, const Reached& reached) -> std::string {
    try {
      refuse_redirect_into_kernel_trees(path, reached);
    } catch (const Error& e) {
      EXPECT_EQ(e.error_code(), ELOOP);
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(error_of("/etc/resolv.conf", {"/dev/null", "'/etc/resolv.conf' -> '/dev/null'"}),
            "'/etc/resolv.conf' leads into the container's /dev through the image's symlink "
            "'/etc/resolv.conf' -> '/dev/null' (it reaches '/dev/null'): nothing is mounted into "
            "/proc, /sys or /dev by way of a symlink, where it would cover the kernel's or the "
            "stage's own files; replace the symlink in the image with a real file or directory");
  EXPECT_NE(error_of("/data", {"/proc/sys/kernel", "'/data' -> '../proc/sys/kernel'"}), "");
  EXPECT_NE(error_of("/etc/hosts", {"/sys/x", "'/etc' -> '/sys'"}), "");
  // Inside the root elsewhere, or a path that names the tree itself: fine.
  EXPECT_EQ(error_of("/etc/resolv.conf", {"/run/resolv.conf", "'/etc/resolv.conf' -> '/run/r'"}),
            "");
  EXPECT_EQ(error_of("/dev/fuse", {"/dev/fuse", ""}), "");
  EXPECT_EQ(error_of("/dev/x", {"/dev/y", "'/dev/x' -> 'y'"}), "");
  // No symlink on the way: where the path goes is what the config says.
  EXPECT_EQ(error_of("/etc/../dev/x", {"/dev/x", ""}), "");
  EXPECT_EQ(kernel_tree("/proc"), "proc");
  EXPECT_EQ(kernel_tree("/system"), "");
  EXPECT_EQ(kernel_tree("/"), "");
}

TEST(PathLogic, SplitAndStaysInside) {
  EXPECT_EQ(split_path("/a//./b/"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(split_path("/").empty());
  EXPECT_TRUE(stays_inside("/a/../b"));
  EXPECT_TRUE(stays_inside("/"));
  EXPECT_FALSE(stays_inside("/a/../../b"));
  EXPECT_FALSE(stays_inside("/.."));
}

}  // namespace
}  // namespace modrt::fs
