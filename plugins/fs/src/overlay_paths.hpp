// Overlay layers given to overlayfs by name, for kernels whose overlayfs takes no layer file
// descriptors (before about Linux 6.15): the option strings and the rules their paths must obey.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace modrt::fs {

// One layer path as overlayfs parses it: '\' and ':' escaped with '\' (':' separates lower
// layers; overlayfs unescapes upperdir and workdir too). A ',' is refused with an Error naming
// `what` and the path: kernels before 6.5 pass overlay options through the legacy monolithic
// string, which splits on ',' whatever the escaping.
std::string overlay_path_option(const std::filesystem::path& path, const char* what);

// The "lowerdir" value for the layers, top first ("top:...:bottom").
std::string overlay_lowerdir_option(const std::vector<std::filesystem::path>& layers_top_first);

}  // namespace modrt::fs
