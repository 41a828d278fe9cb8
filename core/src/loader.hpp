// Finds plugins on the search path and loads them with Boost.DLL (RTLD_NOW: a symbol the plugin
// needs and nothing defines refuses it at load), refusing any whose API version differs from the
// core's before calling anything else in it.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/dll/shared_library.hpp>

#include "modrt/plugin.hpp"

namespace modrt {

struct LoadedPlugin {
  // Every Stage made by the plugin holds this, so the code outlives the objects (see StageHandle).
  std::shared_ptr<boost::dll::shared_library> library;
  const PluginInfo* info = nullptr;
  std::filesystem::path path;
};

// A Stage together with the library its code lives in. The stage is destroyed first.
class StageHandle {
 public:
  StageHandle(std::shared_ptr<boost::dll::shared_library> library, std::unique_ptr<Stage> stage)
      : library_(std::move(library)), stage_(std::move(stage)) {}
  StageHandle(StageHandle&&) noexcept = default;
  StageHandle& operator=(StageHandle&&) noexcept = default;
  ~StageHandle() { stage_.reset(); }
  Stage& operator*() const { return *stage_; }
  Stage* operator->() const { return stage_.get(); }

 private:
  std::shared_ptr<boost::dll::shared_library> library_;  // declared first: destroyed last
  std::unique_ptr<Stage> stage_;
};

class PluginLoader {
 public:
  explicit PluginLoader(std::vector<std::filesystem::path> search_path)
      : search_path_(std::move(search_path)) {}

  // The plugin named `name` (file modrt_<name>.so, first match in search order). Throws Error.
  const LoadedPlugin& load(const std::string& name);
  // Loads one file and checks it (for `modrt plugins` and tests).
  LoadedPlugin load_file(const std::filesystem::path& path);
  // Every modrt_*.so on the search path; shadowed duplicates are reported in `problems`.
  std::vector<LoadedPlugin> discover(std::vector<std::string>& problems);

  // Calls the plugin's create() for one stage's `with:` block.
  StageHandle create_stage(const LoadedPlugin& plugin, const ConfigNode& with,
                           const Config& config);

  const std::vector<std::filesystem::path>& search_path() const { return search_path_; }

 private:
  std::vector<std::filesystem::path> search_path_;
  std::map<std::string, LoadedPlugin> loaded_;  // by declared name
};

// --plugin-path, then the config's plugin_path, then $MODRT_PLUGIN_PATH, then the modrt folder
// beside the libmodrt in use (<libdir>/modrt: build/lib/modrt in the build tree, <prefix>/lib/modrt
// when installed, wherever the tree is). Colon-separated lists are split.
std::vector<std::filesystem::path> plugin_search_path(const std::string& cli_paths,
                                                      const std::vector<std::string>& config_paths);

}  // namespace modrt
