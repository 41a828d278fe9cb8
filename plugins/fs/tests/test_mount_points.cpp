// missing_in_image and make_skeleton on a real directory tree: which mount points a read-only
// image lacks (symlinks of the image followed, paths inside earlier mounts left out, escapes left
// to the workload), and the skeleton that holds them with the image's modes and owners.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "modrt/error.hpp"
#include "mount_points.hpp"

namespace modrt::fs {
namespace {

namespace stdfs = std::filesystem;

class MountPointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = stdfs::temp_directory_path() / ("modrt-fs-mp-" + std::to_string(::getpid()));
    image_ = base_ / "image";
    stdfs::create_directories(image_ / "proc");
    stdfs::create_directories(image_ / "dev");
    stdfs::create_directories(image_ / "etc");
    stdfs::create_directories(image_ / "var");
    stdfs::create_directories(base_ / "skeleton");
    ::chmod((image_ / "etc").c_str(), 0750);
    stdfs::create_symlink("/run", image_ / "var/run");  // dangling: the image has no /run
    stdfs::create_symlink("../../..", image_ / "up");   // leaves the root
    image_fd_ = open_fd(image_.c_str(), O_PATH | O_DIRECTORY);
    ctx_.container_files.push_back({"/etc/hosts", "", 0644});
  }
  void TearDown() override { stdfs::remove_all(base_); }

  std::vector<std::string> missing(const std::vector<MountPoint>& points) {
    std::vector<std::string> out;
    for (const auto& m : missing_in_image(image_fd_.get(), points))
      out.push_back(join_path(m.components) + (m.kind == Create::file ? " (file)" : ""));
    return out;
  }

  stdfs::path base_, image_;
  UniqueFd image_fd_;
  Config config_;
  Context ctx_{config_, "/run/modrt/x"};
};

TEST_F(MountPointsTest, TheStandardOnesAndContainerFilesInConfigOrder) {
  FsOptions options;
  MountSpec tmp;
  tmp.type = MountSpec::Type::tmpfs;
  tmp.destination = "/tmp";
  options.mounts.push_back(tmp);
  auto points = planned_mount_points(ctx_, options, {});
  std::vector<std::string> paths;
  for (const auto& p : points) paths.push_back(p.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"/proc", "/dev", "/sys", "/tmp", "/etc/hosts"}));
  EXPECT_EQ(points.back().kind, Create::file);
}

TEST_F(MountPointsTest, WhatTheImageLacksOnce) {
  EXPECT_EQ(missing({{"/proc", Create::directory},
                     {"/sys", Create::directory},
                     {"/tmp", Create::directory},
                     {"/etc/hosts", Create::file},
                     {"/data/a/b", Create::directory},
                     {"/sys", Create::directory}}),
            (std::vector<std::string>{"/sys", "/tmp", "/etc/hosts (file)", "/data", "/data/a",
                                      "/data/a/b"}));
}

TEST_F(MountPointsTest, SymlinksOfTheImageAreFollowedToWhereTheWorkloadWouldCreate) {
  EXPECT_EQ(missing({{"/var/run/x", Create::directory}}),
            (std::vector<std::string>{"/run", "/run/x"}));
}

TEST_F(MountPointsTest, PathsInsideAnEarlierMountAreThatMountsBusiness) {
  // /tmp is missing (made in the skeleton); /tmp/cache is then inside the tmpfs on /tmp, and
  // /dev/fuse inside the container's /dev.
  EXPECT_EQ(missing({{"/dev", Create::directory},
                     {"/tmp", Create::directory},
                     {"/tmp/cache", Create::directory},
                     {"/dev/fuse", Create::file}}),
            (std::vector<std::string>{"/tmp"}));
}

TEST_F(MountPointsTest, EscapesAreLeftToTheWorkload) {
  EXPECT_TRUE(missing({{"/up/x", Create::directory}, {"/../x", Create::directory}}).empty());
}

TEST_F(MountPointsTest, TheSkeletonHoldsThemWithTheImagesModes) {
  auto points = std::vector<MountPoint>{
      {"/tmp", Create::directory}, {"/etc/hosts", Create::file}, {"/data/a", Create::directory}};
  UniqueFd skeleton = open_fd((base_ / "skeleton").c_str(), O_PATH | O_DIRECTORY);
  make_skeleton(ctx_, image_fd_.get(), skeleton.get(), missing_in_image(image_fd_.get(), points),
                false);
  auto mode = [&](const std::string& rel) {
    struct stat st {};
    EXPECT_EQ(::lstat((base_ / "skeleton" / rel).c_str(), &st), 0) << rel;
    return st.st_mode;
  };
  struct stat image_root {};
  ASSERT_EQ(::stat(image_.c_str(), &image_root), 0);
  EXPECT_EQ(mode(""), image_root.st_mode);
  EXPECT_EQ(mode("tmp"), S_IFDIR | 0755);
  EXPECT_EQ(mode("etc"), S_IFDIR | 0750);  // as the image's, which the overlay merges it with
  EXPECT_EQ(mode("etc/hosts"), S_IFREG | 0644);
  EXPECT_EQ(mode("data/a"), S_IFDIR | 0755);
  EXPECT_FALSE(stdfs::exists(base_ / "skeleton/proc"));
  // The image itself is untouched.
  EXPECT_FALSE(stdfs::exists(image_ / "tmp"));
  EXPECT_FALSE(stdfs::exists(image_ / "etc/hosts"));
}

// check_kernel_dirs: /proc, /sys and /dev are directories or missing; a symlink, whatever its
// target, or anything else is refused with the path, the target and the fix.
class FsKernelDirsTest : public MountPointsTest {
 protected:
  std::string error_of() {
    try {
      check_kernel_dirs(image_fd_.get(), "rootfs '/img'");
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
};

constexpr const char* kFix =
    "; the kernel file systems (/proc, /sys, /dev) must be mounted on real directories of the "
    "image, or the masked and read-only paths under them would protect nothing: replace it with "
    "a directory in the image";

TEST_F(FsKernelDirsTest, DirectoriesAndMissingOnesPass) {
  // The fixture's image: /proc and /dev directories, no /sys (made later as a mount point).
  EXPECT_EQ(error_of(), "");
}

TEST_F(FsKernelDirsTest, AnAbsoluteSymlinkInsideTheRootIsRefused) {
  stdfs::remove(image_ / "proc");
  stdfs::create_directories(image_ / "tmp/x");
  stdfs::create_directory_symlink("/tmp/x", image_ / "proc");
  EXPECT_EQ(error_of(), std::string("rootfs '/img': '/proc' is a symlink to '/tmp/x'") + kFix);
}

TEST_F(FsKernelDirsTest, ARelativeSymlinkIsRefused) {
  stdfs::create_directories(image_ / "real-sys");
  stdfs::create_directory_symlink("real-sys", image_ / "sys");
  EXPECT_EQ(error_of(), std::string("rootfs '/img': '/sys' is a symlink to 'real-sys'") + kFix);
}

TEST_F(FsKernelDirsTest, ADanglingSymlinkIsRefused) {
  stdfs::remove(image_ / "dev");
  stdfs::create_symlink("/nowhere", image_ / "dev");
  EXPECT_EQ(error_of(), std::string("rootfs '/img': '/dev' is a symlink to '/nowhere'") + kFix);
}

TEST_F(FsKernelDirsTest, AClimbingSymlinkIsRefusedAsLeavingTheRoot) {
  stdfs::remove(image_ / "proc");
  stdfs::create_directory_symlink("../../../host", image_ / "proc");
  EXPECT_EQ(error_of(), std::string("rootfs '/img': '/proc' leaves the container's root: symlink "
                                    "'/proc' -> '../../../host'") +
                            kFix);
}

TEST_F(FsKernelDirsTest, AFileIsRefused) {
  std::ofstream(image_ / "sys") << "not a dir";
  EXPECT_EQ(error_of(), std::string("rootfs '/img': '/sys' is not a directory") + kFix);
}

}  // namespace
}  // namespace modrt::fs
