// Overlay layers by name (kernels whose overlayfs takes no layer fds): the escaping overlayfs
// undoes, and the one character no kernel lets through.
#include <gtest/gtest.h>

#include "modrt/error.hpp"
#include "overlay_paths.hpp"

namespace modrt::fs {
namespace {

TEST(OverlayPaths, PlainPathsPassUnchanged) {
  EXPECT_EQ(overlay_path_option("/var/lib/images/busybox", "x"), "/var/lib/images/busybox");
  EXPECT_EQ(overlay_path_option("/with space/and=equals", "x"), "/with space/and=equals");
}

TEST(OverlayPaths, ColonAndBackslashAreEscaped) {
  EXPECT_EQ(overlay_path_option("/a:b", "x"), "/a\\:b");
  EXPECT_EQ(overlay_path_option("/a\\b", "x"), "/a\\\\b");
  EXPECT_EQ(overlay_path_option("/:\\:", "x"), "/\\:\\\\\\:");
}

TEST(OverlayPaths, CommaIsRefusedNamingTheLayer) {
  try {
    overlay_path_option("/images/a,b", "overlay upper layer");
    FAIL() << "a ',' was accepted";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("overlay upper layer '/images/a,b'"), std::string::npos) << m;
    EXPECT_NE(m.find("','"), std::string::npos) << m;
  }
}

TEST(OverlayPaths, LowerdirListsTheLayersTopFirst) {
  EXPECT_EQ(overlay_lowerdir_option({"/top", "/mid:dle", "/rootfs"}), "/top:/mid\\:dle:/rootfs");
  EXPECT_EQ(overlay_lowerdir_option({"/rootfs"}), "/rootfs");
  EXPECT_THROW(overlay_lowerdir_option({"/top", "/bad,name"}), Error);
}

}  // namespace
}  // namespace modrt::fs
