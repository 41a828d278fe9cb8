#include "loader.hpp"

#include <unistd.h>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library_load_mode.hpp>

#include "modrt/error.hpp"

namespace modrt {

namespace fs = std::filesystem;

namespace {

void split_into(const std::string& list, std::vector<fs::path>& out) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(':', start);
    if (end == std::string::npos) end = list.size();
    if (end > start) out.emplace_back(list.substr(start, end - start));
    start = end + 1;
  }
}

std::string joined(const std::vector<fs::path>& dirs) {
  std::string out;
  for (const auto& d : dirs) out += (out.empty() ? "" : ", ") + d.string();
  return out.empty() ? "(no directories)" : out;
}

}  // namespace

std::vector<fs::path> plugin_search_path(const std::string& cli_paths,
                                         const std::vector<std::string>& config_paths) {
  std::vector<fs::path> out;
  split_into(cli_paths, out);
  for (const auto& p : config_paths) split_into(p, out);
  if (const char* env = ::getenv("MODRT_PLUGIN_PATH")) split_into(env, out);
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path beside = exe.parent_path().parent_path() / "lib" / "modrt";
    if (fs::is_directory(beside, ec)) out.push_back(beside);
  }
  out.emplace_back(MODRT_PLUGIN_INSTALL_DIR);
  // A directory named twice is searched once, at its first place.
  std::vector<fs::path> unique;
  for (auto& p : out)
    if (std::find(unique.begin(), unique.end(), p) == unique.end()) unique.push_back(std::move(p));
  return unique;
}

LoadedPlugin PluginLoader::load_file(const fs::path& path) {
  LoadedPlugin plugin;
  plugin.path = path;
  try {
    // RTLD_LOCAL keeps one plugin's symbols from resolving another's. Lazy binding, because eager
    // binding of five plugins doubled the loader's share of modrt's start-up (callgrind: 4.2 M vs
    // 2.3 M instructions); plugins are built against the headers that define every symbol they
    // call.
    plugin.library = std::make_shared<boost::dll::shared_library>(
        path, boost::dll::load_mode::rtld_lazy | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    throw Error(
        fmt::format("plugin file '{}' cannot be loaded (not a shared object built for this "
                    "system?): {}",
                    path.string(), e.what()));
  }
  if (!plugin.library->has(MODRT_PLUGIN_SYMBOL))
    throw Error(
        fmt::format("plugin file '{}' does not export the entry point '{}' (is it a modrt "
                    "plugin? it must use MODRT_PLUGIN)",
                    path.string(), MODRT_PLUGIN_SYMBOL));
  auto entry = plugin.library->get<const PluginInfo*()>(MODRT_PLUGIN_SYMBOL);
  plugin.info = entry();
  if (plugin.info == nullptr)
    throw Error(fmt::format("plugin file '{}': entry point returned nothing", path.string()));
  // The version is read before any other member: later API versions may lay out the rest
  // differently.
  if (plugin.info->api_version != kPluginApiVersion)
    throw Error(
        fmt::format("plugin file '{}' was built for plugin API version {}, but this modrt "
                    "provides version {}; rebuild the plugin against this modrt",
                    path.string(), plugin.info->api_version, kPluginApiVersion));
  if (plugin.info->abi != abi_fingerprint())
    throw Error(
        fmt::format("plugin file '{}' was built against different modrt headers (same plugin "
                    "API version {}, but other type layouts: fingerprint {:#x}, this modrt "
                    "{:#x}); rebuild the plugin against this modrt",
                    path.string(), kPluginApiVersion, plugin.info->abi, abi_fingerprint()));
  if (plugin.info->name == nullptr || plugin.info->create == nullptr)
    throw Error(
        fmt::format("plugin file '{}' declares no name or no create function", path.string()));
  return plugin;
}

const LoadedPlugin& PluginLoader::load(const std::string& name) {
  if (auto it = loaded_.find(name); it != loaded_.end()) return it->second;
  std::string file = "modrt_" + name + ".so";
  for (const auto& dir : search_path_) {
    fs::path candidate = dir / file;
    std::error_code ec;
    if (!fs::exists(candidate, ec)) continue;
    LoadedPlugin plugin = load_file(candidate);
    std::string declared = plugin.info->name;
    if (declared != name)
      throw Error(fmt::format("plugin file '{}' declares the name '{}', expected '{}'",
                              candidate.string(), declared, name));
    return loaded_.emplace(name, std::move(plugin)).first->second;
  }
  throw Error(fmt::format("plugin '{}' not found: no {} in {}", name, file, joined(search_path_)));
}

std::vector<LoadedPlugin> PluginLoader::discover(std::vector<std::string>& problems) {
  std::vector<LoadedPlugin> found;
  for (const auto& dir : search_path_) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      std::string fname = entry.path().filename().string();
      if (fname.rfind("modrt_", 0) == 0 && entry.path().extension() == ".so")
        files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& path : files) {
      try {
        LoadedPlugin plugin = load_file(path);
        auto same = std::find_if(found.begin(), found.end(), [&](const LoadedPlugin& p) {
          return std::string_view(p.info->name) == plugin.info->name;
        });
        if (same != found.end()) {
          problems.push_back(fmt::format("two plugins named '{}': {} (used) and {} (shadowed)",
                                         plugin.info->name, same->path.string(), path.string()));
          continue;
        }
        found.push_back(std::move(plugin));
      } catch (const Error& e) {
        problems.push_back(e.what());
      }
    }
  }
  return found;
}

StageHandle PluginLoader::create_stage(const LoadedPlugin& plugin, const ConfigNode& with,
                                       const Config& config) {
  std::unique_ptr<Stage> stage = plugin.info->create(with, config);
  if (!stage) throw Error(fmt::format("plugin '{}' created no stage", plugin.info->name));
  return StageHandle(plugin.library, std::move(stage));
}

}  // namespace modrt
