// The fs stage's `with:` block (plugins/fs/src/options.cpp): rootfs, overlay layers, mounts, masked
// and read-only paths. The input is a whole config whose folder is a scratch dir holding what the
// seeds name (rootfs/, layer/, data/, file.txt, and ../rootfs as configs/ use it), so the parser
// gets past its existence checks.
#include <cstddef>
#include <cstdint>
#include <fstream>

#include "fuzz_support.hpp"
#include "options.hpp"

namespace {

std::filesystem::path make_config_dir() {
  static const modrt::fuzz::ScratchDir scratch("fs");
  auto dir = scratch.path() / "configs";
  for (const char* sub : {"configs/rootfs", "configs/layer", "configs/layer2", "configs/data",
                          "configs/upper", "configs/work", "rootfs"})
    std::filesystem::create_directories(scratch.path() / sub);
  std::ofstream(dir / "file.txt") << "x";
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path dir = make_config_dir();
  modrt::fuzz::expect_modrt_errors([&] {
    auto config = modrt::fuzz::parse_config_or_skip(modrt::fuzz::as_text(data, size), dir);
    if (!config) return;
    const modrt::StageConfig* stage = config->stage("fs");
    if (!stage) return;
    modrt::fs::FsOptions options = modrt::fs::parse_options(stage->with, *config);
    using modrt::fuzz::expect_c_string;
    expect_c_string(options.rootfs, "fs rootfs");
    if (options.overlay) {
      for (const auto& layer : options.overlay->lower) expect_c_string(layer, "fs overlay.lower");
      if (options.overlay->upper) expect_c_string(*options.overlay->upper, "fs overlay.upper");
      if (options.overlay->work) expect_c_string(*options.overlay->work, "fs overlay.work");
    }
    for (const auto& mount : options.mounts) {
      expect_c_string(mount.source, "fs mounts[].source");
      expect_c_string(mount.destination, "fs mounts[].destination");
    }
    for (const auto& path : options.masked_paths) expect_c_string(path, "fs masked_paths");
    for (const auto& path : options.readonly_paths) expect_c_string(path, "fs readonly_paths");
  });
  return 0;
}
