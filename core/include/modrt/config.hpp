// The typed config modrt runs from, and ConfigNode: the view of a YAML node through which the core
// and every plugin read their keys, so that every error names file:line:column and the key path.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace modrt {

class ConfigNode {
 public:
  // path is the key path from the document root, e.g. "stages[2].with.memory.max".
  ConfigNode(YAML::Node node, std::shared_ptr<const std::string> file, std::string path);

  const std::string& path() const { return path_; }
  const std::string& file() const { return *file_; }
  // "file:line:column" (1-based) of this node.
  std::string location() const;
  const YAML::Node& yaml() const { return node_; }

  bool is_map() const { return node_.IsMap(); }
  bool is_sequence() const { return node_.IsSequence(); }
  bool is_scalar() const { return node_.IsScalar(); }
  bool is_null() const { return node_.IsNull(); }

  // Throws ConfigError "file:line:col: path: message".
  [[noreturn]] void fail(std::string_view message) const;

  // Map access. Every map a reader accepts must be checked with expect_keys, so that a misspelt key
  // is an error instead of a silently ignored setting.
  void expect_map() const;
  void expect_keys(std::initializer_list<std::string_view> allowed) const;
  void expect_keys(const std::vector<std::string>& allowed) const;
  std::optional<ConfigNode> find(std::string_view key) const;
  ConfigNode require(std::string_view key) const;  // "missing required key 'x'"
  // Entries in document order (for maps whose keys are data, like cgroup resources).
  std::vector<std::pair<std::string, ConfigNode>> entries() const;

  // Sequence access; a scalar where a list is expected is an error.
  std::vector<ConfigNode> items() const;

  // Scalars. Each names what it expected when the value does not fit.
  std::string as_string() const;
  bool as_bool() const;
  int64_t as_int(int64_t min = INT64_MIN, int64_t max = INT64_MAX) const;
  uint64_t as_uint(uint64_t max = UINT64_MAX) const;
  uint64_t as_size() const;                      // "64M", "1.5G", "4096": bytes
  std::chrono::nanoseconds as_duration() const;  // "250ms", "2s", "1m"
  std::vector<std::string> as_string_list() const;

  // Shorthands for optional keys of a map.
  std::string string_or(std::string_view key, std::string fallback) const;
  bool bool_or(std::string_view key, bool fallback) const;
  int64_t int_or(std::string_view key, int64_t fallback) const;

 private:
  YAML::Node node_;
  std::shared_ptr<const std::string> file_;
  std::string path_;
};

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
};

struct Process {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  User user;
  bool terminal = false;
};

struct StageConfig {
  std::string plugin;
  std::string location;  // "file:line:col: stages[i].plugin", for errors about the plugin itself
  ConfigNode with;       // a map; an absent `with:` reads as an empty map
};

struct Config {
  std::filesystem::path file;  // as given on the command line
  std::string text;            // the file's YAML, kept so `modrt gc` can re-read the stages' blocks
  std::filesystem::path dir;   // folder of the config file: relative paths resolve against it
  std::string name;
  std::string hostname;  // empty: leave the stage defaults
  std::string backend = "namespaces";
  Process process;
  std::vector<std::string> plugin_path;
  std::vector<StageConfig> stages;
  // True when stages are recreated from a dead run's state (`modrt delete/gc/stats`) only to roll
  // back or report: create() should then skip checks of the host as it is now (join paths of
  // processes that are gone, ports in use by the dead run itself).
  bool recovering = false;

  // Resolves a path from the config against its folder; absolute paths are returned unchanged.
  std::filesystem::path resolve(const std::filesystem::path& p) const {
    return p.is_absolute() ? p : (dir / p).lexically_normal();
  }
  // The stage entry of a plugin, if the config has one.
  const StageConfig* stage(std::string_view plugin) const;
};

// Parses and validates the core's part of a config file. Plugins' `with:` blocks are checked later,
// when each plugin is created. Throws ConfigError.
Config load_config(const std::filesystem::path& file);
Config parse_config(std::string_view yaml_text, const std::string& file_label,
                    const std::filesystem::path& dir);

// Valid container names: [A-Za-z0-9][A-Za-z0-9_.-]{0,63}; they become paths and interface suffixes.
bool is_valid_name(std::string_view name);

}  // namespace modrt
