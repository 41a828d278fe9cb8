#include "overlay_paths.hpp"

#include <fmt/format.h>

#include "modrt/error.hpp"

namespace modrt::fs {

std::string overlay_path_option(const std::filesystem::path& path, const char* what) {
  const std::string& p = path.native();
  if (p.find(',') != std::string::npos)
    throw Error(fmt::format(
        "{} '{}': this kernel's overlayfs takes its layers by name only, and a ',' cannot be "
        "passed in an overlay layer's name; rename the directory (or use Linux 6.15+, where the "
        "layers go by file descriptor)",
        what, p));
  std::string out;
  out.reserve(p.size());
  for (char c : p) {
    if (c == '\\' || c == ':') out += '\\';
    out += c;
  }
  return out;
}

std::string overlay_lowerdir_option(const std::vector<std::filesystem::path>& layers_top_first) {
  std::string out;
  for (const auto& layer : layers_top_first) {
    if (!out.empty()) out += ':';
    out += overlay_path_option(layer, "overlay lower layer");
  }
  return out;
}

}  // namespace modrt::fs
