#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>

#include "modrt/config.hpp"
#include "modrt/error.hpp"

namespace modrt {

namespace {

User parse_user(const ConfigNode& node) {
  node.expect_keys({"uid", "gid", "additional_gids"});
  User user;
  if (auto uid = node.find("uid")) user.uid = static_cast<uint32_t>(uid->as_uint(UINT32_MAX - 1));
  if (auto gid = node.find("gid")) user.gid = static_cast<uint32_t>(gid->as_uint(UINT32_MAX - 1));
  if (auto extra = node.find("additional_gids"))
    for (const auto& g : extra->items())
      user.additional_gids.push_back(static_cast<uint32_t>(g.as_uint(UINT32_MAX - 1)));
  return user;
}

Process parse_process(const ConfigNode& node) {
  node.expect_keys({"args", "env", "cwd", "user", "terminal"});
  Process process;
  ConfigNode args = node.require("args");
  process.args = args.as_string_list();
  if (process.args.empty()) args.fail("must name the command to run (an empty list was given)");
  if (process.args[0].empty()) args.fail("the command (first item) is an empty string");
  if (auto env = node.find("env")) {
    for (const auto& item : env->items()) {
      std::string entry = item.as_string();
      size_t eq = entry.find('=');
      if (eq == std::string::npos || eq == 0)
        item.fail(fmt::format("expected KEY=VALUE, got '{}'", entry));
      process.env.push_back(std::move(entry));
    }
  }
  if (auto cwd = node.find("cwd")) {
    process.cwd = cwd->as_string();
    if (process.cwd.empty() || process.cwd[0] != '/')
      cwd->fail(
          fmt::format("must be an absolute path inside the container, got '{}'", process.cwd));
  }
  if (auto user = node.find("user")) process.user = parse_user(*user);
  process.terminal = node.bool_or("terminal", false);
  return process;
}

}  // namespace

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (!std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-')
      return false;
  return true;
}

const StageConfig* Config::stage(std::string_view plugin) const {
  for (const auto& s : stages)
    if (s.plugin == plugin) return &s;
  return nullptr;
}

Config parse_config(std::string_view yaml_text, const std::string& file_label,
                    const std::filesystem::path& dir) {
  auto file = std::make_shared<const std::string>(file_label);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}:{}:{}: invalid YAML: {}", file_label, e.mark.line + 1,
                                  e.mark.column + 1, e.msg));
  }
  ConfigNode doc(root, file, "");
  if (root.IsNull() || !root.IsDefined()) doc.fail("the config is empty");
  doc.expect_keys({"name", "hostname", "backend", "process", "stages", "plugin_path"});

  Config config;
  config.file = file_label;
  config.text = std::string(yaml_text);
  config.dir = dir;

  ConfigNode name = doc.require("name");
  config.name = name.as_string();
  if (!is_valid_name(config.name))
    name.fail(
        fmt::format("'{}' is not a valid name (letters, digits, '_', '.', '-'; at most 64; "
                    "starts with a letter or digit)",
                    config.name));
  config.hostname = doc.string_or("hostname", "");
  if (config.hostname.size() > 64) doc.require("hostname").fail("longer than 64 characters");

  if (auto backend = doc.find("backend")) {
    config.backend = backend->as_string();
    if (config.backend != "namespaces" && config.backend != "vm")
      backend->fail(
          fmt::format("unknown backend '{}' (expected namespaces or vm)", config.backend));
  }
  if (auto paths = doc.find("plugin_path")) {
    for (const auto& p : paths->items())
      config.plugin_path.push_back(config.resolve(p.as_string()));
  }
  config.process = parse_process(doc.require("process"));

  ConfigNode stages = doc.require("stages");
  for (const auto& entry : stages.items()) {
    entry.expect_keys({"plugin", "with"});
    ConfigNode plugin = entry.require("plugin");
    std::string plugin_name = plugin.as_string();
    if (!is_valid_name(plugin_name))
      plugin.fail(fmt::format("'{}' is not a valid plugin name", plugin_name));
    for (size_t i = 0; i < config.stages.size(); ++i) {
      if (config.stages[i].plugin == plugin_name)
        plugin.fail(fmt::format("plugin '{}' is already used by stages[{}]; a stage appears once",
                                plugin_name, i));
    }
    std::optional<ConfigNode> with = entry.find("with");
    if (with && !with->is_null()) with->expect_map();
    ConfigNode with_node =
        with ? *with : ConfigNode(YAML::Node(YAML::NodeType::Map), file, entry.path() + ".with");
    config.stages.push_back(
        {plugin_name, fmt::format("{}: {}", plugin.location(), plugin.path()), with_node});
  }
  if (config.stages.empty())
    stages.fail(
        "is empty: the workload would run on the host, as modrt's user, with no isolation at "
        "all; list the stages that confine it (at least ns)");
  return config;
}

Config load_config(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) {
    int code = errno;
    throw ConfigError(fmt::format("config file '{}': {}", file.string(), std::strerror(code)),
                      code);
  }
  std::stringstream text;
  text << in.rdbuf();
  std::filesystem::path dir = std::filesystem::absolute(file).parent_path();
  return parse_config(text.str(), file.string(), dir);
}

}  // namespace modrt
