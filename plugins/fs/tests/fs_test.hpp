// Shared pieces of the fs integration tests: configs with the ns stage in front, the two
// namespace variants (root, and a user namespace mapping container 0 to host 100000), private
// copies of the busybox rootfs, and a digest that proves a layer was not written.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "modrt_test.hpp"

namespace modrt::test::fs {

enum class Variant { root, userns };
std::string variant_name(const ::testing::TestParamInfo<Variant>& info);

// The ns stage's `with:` block for a variant.
std::string ns_with(Variant v);

// A config running `script` under /bin/sh with the ns stage and the fs stage's `with:` block;
// `more_stages` are appended after fs (YAML list items).
std::string config(const std::string& name, const std::string& script, const std::string& fs_with,
                   Variant v = Variant::root, const std::string& more_stages = "");

// Copies the busybox rootfs to dir/name (owned by host root, like the shared one) and returns it.
std::filesystem::path private_rootfs(const TempDir& dir, const std::string& name = "rootfs");

// A digest of everything in a tree: names, types, modes, owners, symlink targets and contents.
std::string tree_digest(const std::filesystem::path& root);

// Mount points in /proc/self/mountinfo-formatted text.
std::vector<std::string> mount_points(const std::string& mountinfo);

// Lines of `text` that contain `needle`.
std::vector<std::string> lines_with(const std::string& text, const std::string& needle);

// True when any process on the host still has a mount whose options mention `needle`.
bool any_mount_mentions(const std::string& needle);

class FsTest : public HostLeakTest {
 protected:
  // The shared busybox rootfs is a lower layer for every test (and other plugins' tests): a test
  // that writes into it fails here.
  void SetUp() override;
  void TearDown() override;

  // Writes a config into the test's dir and runs it.
  Result run_config(const std::string& yaml, const std::vector<std::string>& extra = {});
  std::string write_config(const std::string& yaml);

 private:
  std::string shared_rootfs_digest_;
};

class FsVariantTest : public FsTest, public ::testing::WithParamInterface<Variant> {};

}  // namespace modrt::test::fs
