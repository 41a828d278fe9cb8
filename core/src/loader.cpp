#include "loader.hpp"

#include <cxxabi.h>
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>

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

// The folder libmodrt was loaded from (this code is in it), or empty if the dynamic loader cannot
// say. The plugins are installed beside it, in <libdir>/modrt, and built beside it, in
// build/lib/modrt: finding them from here rather than from a path compiled in keeps an install tree
// working wherever it is unpacked (cmake --install --prefix, DESTDIR, a moved tree), and always
// pairs the plugins with the libmodrt they were built with.
fs::path libmodrt_dir() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<const void*>(&plugin_search_path), &info) == 0 ||
      info.dli_fname == nullptr || info.dli_fname[0] == '\0')
    return {};
  fs::path dir = fs::path(info.dli_fname).parent_path();
  std::error_code ec;
  fs::path real = fs::canonical(dir, ec);  // bin/../lib as the RUNPATH found it → lib
  return ec ? dir : real;
}

std::string demangled(const std::string& symbol) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> name(
      abi::__cxa_demangle(symbol.c_str(), nullptr, nullptr, &status), &std::free);
  return status == 0 && name ? name.get() : symbol;
}

// dlopen's reason, in the words of someone who has to fix the plugin. An undefined symbol is the
// case RTLD_NOW exists for: the plugin was built against a libmodrt (or another library) that has a
// function this one lacks.
std::string load_failure(const fs::path& path, const std::string& why) {
  constexpr std::string_view kUndefined = "undefined symbol: ";
  if (size_t at = why.find(kUndefined); at != std::string::npos) {
    std::string symbol = why.substr(at + kUndefined.size());
    if (size_t comma = symbol.find(','); comma != std::string::npos) symbol.resize(comma);
    std::string readable = demangled(symbol);
    std::string named = readable == symbol ? fmt::format("'{}'", symbol)
                                           : fmt::format("'{}' ({})", readable, symbol);
    // dlerror names the object that needs the symbol: the plugin or one of its own libraries.
    std::string needer = why.substr(0, why.find(": "));
    std::string by = needer == path.string() ? "" : fmt::format(" (needed by {})", needer);
    return fmt::format(
        "plugin file '{}' cannot be loaded: undefined symbol {}{}: neither this modrt's libmodrt "
        "nor the plugin's libraries define it (was it built against another modrt?); rebuild the "
        "plugin against this modrt",
        path.string(), named, by);
  }
  return fmt::format(
      "plugin file '{}' cannot be loaded (not a shared object built for this system?): {}",
      path.string(), why);
}

}  // namespace

std::vector<fs::path> plugin_search_path(const std::string& cli_paths,
                                         const std::vector<std::string>& config_paths) {
  std::vector<fs::path> out;
  split_into(cli_paths, out);
  for (const auto& p : config_paths) split_into(p, out);
  if (const char* env = ::getenv("MODRT_PLUGIN_PATH")) split_into(env, out);
  // The plugins of this libmodrt: <libdir>/modrt, the same relation in the build tree and in an
  // install tree (MODRT_PLUGIN_OUTPUT_DIR and MODRT_PLUGIN_INSTALL_DIR in the top CMakeLists.txt).
  if (fs::path lib = libmodrt_dir(); !lib.empty()) out.push_back(lib / "modrt");
  // A directory named twice is searched once, at its first place.
  std::vector<fs::path> unique;
  for (auto& p : out)
    if (std::find(unique.begin(), unique.end(), p) == unique.end()) unique.push_back(std::move(p));
  return unique;
}

LoadedPlugin PluginLoader::load_file(const fs::path& path) {
  LoadedPlugin plugin;
  plugin.path = path;
  // RTLD_NOW: every symbol the plugin calls is resolved here, so a plugin built against a libmodrt
  // with a function this one lacks is refused by `validate`, naming the symbol. Lazy binding let it
  // pass and die at its first call, typically in the workload's child ("symbol lookup error", exit
  // 127, as if the workload had failed). The cost, for the five plugins of configs/web.yaml: 1.2 M
  // more instructions per run (callgrind of `modrt validate`: 8.5 M → 9.7 M), about 0.3 ms, the
  // same page faults (docs/PLUGINS.md). RTLD_LOCAL keeps one plugin's symbols from resolving
  // another's.
  plugin.library = std::make_shared<boost::dll::shared_library>();
  std::error_code ec;
  plugin.library->load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local,
                       ec);
  if (ec) {
    // Boost.DLL leaves dlopen's reason pending when it reports through an error_code.
    const char* why = ::dlerror();
    throw Error(load_failure(path, why != nullptr ? why : ec.message()));
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
