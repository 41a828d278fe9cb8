// modrt: the command line. Everything it does is in libmodrt; this file maps arguments to calls and
// errors to exit codes (2: bad config or command line, 125: setup failed and was rolled back).
#include <unistd.h>

#include <iostream>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "loader.hpp"
#include "modrt/error.hpp"
#include "pipeline.hpp"
#include "state.hpp"

namespace {

using namespace modrt;
namespace fs = std::filesystem;

// One JSON object per line, for log collectors.
class JsonSink : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    nlohmann::json line = {
        {"time", std::chrono::duration<double>(msg.time.time_since_epoch()).count()},
        {"level", spdlog::level::to_string_view(msg.level).data()},
        {"logger", std::string(msg.logger_name.begin(), msg.logger_name.end())},
        {"msg", std::string(msg.payload.begin(), msg.payload.end())}};
    std::string text = line.dump() + "\n";
    (void)!::write(STDERR_FILENO, text.data(), text.size());
  }
  void flush_() override {}
};

void setup_logging(const std::string& level, const std::string& format) {
  spdlog::sink_ptr sink;
  if (format == "json")
    sink = std::make_shared<JsonSink>();
  else
    sink = std::make_shared<spdlog::sinks::stderr_sink_st>();
  auto logger = std::make_shared<spdlog::logger>("modrt", sink);
  if (format != "json") logger->set_pattern("modrt[%n] %l: %v");
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

struct Options {
  std::string config;
  std::string name;
  bool name_given = false;  // --name, even --name "", overrides the config's
  std::vector<std::string> env;
  std::string plugin_path;
  std::string root;
  std::string log_level = "warn";
  std::string log_format = "text";
  bool timings = false;
};

Config load_for_run(const Options& opts, const std::vector<std::string>& command) {
  Config config = load_config(opts.config);
  if (opts.name_given) config.name = ContainerName::parse(opts.name, "--name").str();
  for (const auto& kv : opts.env) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      throw ConfigError(fmt::format("-e: expected KEY=VALUE, got '{}'", kv));
    if (kv.find('\0') != std::string::npos) throw ConfigError("-e: a NUL byte cannot be passed");
    std::string key = kv.substr(0, eq + 1);
    std::erase_if(config.process.env, [&](const std::string& e) { return e.rfind(key, 0) == 0; });
    config.process.env.push_back(kv);
  }
  if (!command.empty()) config.process.args = command;
  return config;
}

fs::path state_root(const Options& opts) {
  return opts.root.empty() ? StateDir::default_root() : fs::path(opts.root);
}

int cmd_run(const Options& opts, const std::vector<std::string>& command) {
  Config config = load_for_run(opts, command);
  PluginLoader loader(plugin_search_path(opts.plugin_path, config.plugin_path));
  Pipeline pipeline(config, loader);
  int code;
  try {
    code = pipeline.run({state_root(opts), opts.timings});
  } catch (...) {
    if (opts.timings) std::cerr << Pipeline::format_timings(pipeline.timings());
    throw;
  }
  if (opts.timings) std::cerr << Pipeline::format_timings(pipeline.timings());
  return code;
}

int cmd_validate(const Options& opts) {
  Config config = load_for_run(opts, {});
  PluginLoader loader(plugin_search_path(opts.plugin_path, config.plugin_path));
  Pipeline pipeline(config, loader);
  std::cout << fmt::format("{}: valid ({} stages:", opts.config, config.stages.size());
  for (const auto& s : config.stages) std::cout << ' ' << s.plugin;
  std::cout << ")\n";
  return 0;
}

int cmd_plugins(const Options& opts) {
  PluginLoader loader(plugin_search_path(opts.plugin_path, {}));
  std::vector<std::string> problems;
  auto plugins = loader.discover(problems);
  for (const auto& p : plugins) {
    std::cout << fmt::format("{} {}  {}\n    {}\n", p.info->name, p.info->version, p.path.string(),
                             p.info->description);
    for (const OptionDoc* o = p.info->options; o && o->key; ++o)
      std::cout << fmt::format("    {:<18} {}\n", o->key, o->description);
  }
  if (plugins.empty()) {
    std::cout << "no plugins found in:";
    for (const auto& d : loader.search_path()) std::cout << ' ' << d.string();
    std::cout << '\n';
  }
  for (const auto& problem : problems) std::cerr << "modrt: warning: " << problem << '\n';
  return 0;
}

int cmd_delete(const Options& opts, const std::string& target) {
  ContainerName name = ContainerName::parse(target, "delete");
  StateRoot root = StateRoot::open(state_root(opts), /*create=*/false);
  StateDir state = StateDir::adopt(root, name);
  PluginLoader loader(plugin_search_path(opts.plugin_path, {}));
  recover_dead_run(state, loader);
  state.remove();
  std::cout << "deleted " << name.str() << '\n';
  return 0;
}

int cmd_gc(const Options& opts) {
  StateRoot root = StateRoot::open(state_root(opts), /*create=*/false);
  PluginLoader loader(plugin_search_path(opts.plugin_path, {}));
  int removed = 0;
  std::vector<std::string> failed;
  // One bad entry never stops the rest: each is collected on its own, whatever it throws.
  for (const auto& entry : root.half_made()) {
    std::vector<std::string> left = root.remove_half_made(entry);
    if (left.empty()) {
      std::cout << "removed " << entry << '\n';
      ++removed;
    } else {
      spdlog::debug("kept {}", left.front());
    }
  }
  for (const auto& entry : root.runs()) {
    try {
      if (state_is_live(root, entry)) continue;
      ContainerName name = ContainerName::parse(entry, "gc");
      StateDir state = StateDir::adopt(root, name);
      recover_dead_run(state, loader);
      state.remove();
      std::cout << "removed " << entry << '\n';
      ++removed;
    } catch (const NotOurs& e) {
      spdlog::debug("{}", e.what());
    } catch (const std::exception& e) {
      failed.push_back(fmt::format("{}: {}", entry, e.what()));
    }
  }
  for (const auto& f : failed) std::cerr << "modrt: error: gc: " << f << '\n';
  if (!failed.empty()) return 125;
  if (removed == 0) std::cout << "nothing to collect\n";
  return 0;
}

int cmd_list(const Options& opts) {
  StateRoot root = StateRoot::open(state_root(opts), /*create=*/false);
  for (const auto& entry : root.runs()) {
    nlohmann::json state;
    try {
      state = load_state(root, entry);
    } catch (const std::exception&) {
      continue;  // not a run of modrt's
    }
    std::cout << fmt::format("{:<24} {:<8} {}\n", entry,
                             state_is_live(root, entry) ? "running" : "dead",
                             state.value("workload_pid", -1));
  }
  return 0;
}

int cmd_stats(const Options& opts, const std::string& target) {
  ContainerName name = ContainerName::parse(target, "stats");
  StateRoot root = StateRoot::open(state_root(opts), /*create=*/false);
  nlohmann::json state = load_state(root, name.str());
  if (!state_is_live(root, name.str()))
    throw Error(fmt::format("container '{}' is not running", name.str()));
  PluginLoader loader(plugin_search_path(opts.plugin_path, {}));
  Config config = parse_config(state.value("config_text", ""), state.value("config_file", ""),
                               state.value("config_dir", "/"));
  config.name = name.str();
  config.recovering = true;
  Context ctx(config, root.path() / name.str());
  ctx.pid = state.value("workload_pid", -1);
  for (const auto& entry : state.value("stages", nlohmann::json::array())) {
    std::string plugin_name = entry.value("plugin", "");
    const StageConfig* sc = config.stage(plugin_name);
    if (!sc) continue;
    LoadedPlugin plugin = loader.load_file(entry.value("path", ""));
    StageHandle stage = loader.create_stage(plugin, sc->with, config);
    Ledger ledger;
    for (const auto& item : entry.value("ledger", nlohmann::json::array()))
      ledger.record(item.at(0).get<std::string>(), item.at(1).get<std::string>());
    auto log = spdlog::default_logger()->clone(plugin_name);
    ctx.enter_stage(plugin_name, *log, ledger);
    for (const auto& [key, value] : stage->stats(ctx))
      std::cout << fmt::format("{}.{}: {}\n", plugin_name, key, value);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "modrt: a modular container runtime. Runs one workload as a pipeline of plugin stages.",
      "modrt"};
  app.set_version_flag("--version", std::string("modrt ") + MODRT_VERSION + " (plugin API " +
                                        std::to_string(modrt::kPluginApiVersion) + ")");
  Options opts;
  app.fallthrough();
  app.allow_extras(false);
  app.add_option("-c,--config", opts.config, "Run this config (same as `run -c FILE`)");
  app.add_option("--plugin-path", opts.plugin_path,
                 "Colon-separated folders searched first for plugins");
  app.add_option("--root", opts.root, "Folder of the runs' state (default /run/modrt)");
  app.add_option("--log-level", opts.log_level, "trace, debug, info, warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_option("--log-format", opts.log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--timings", opts.timings, "Print how long each stage's phases took");

  auto* run = app.add_subcommand("run", "Run a workload from a config");
  run->add_option("-c,--config", opts.config, "The config file")->required();
  run->add_option("--name", opts.name, "Container name (overrides the config's)");
  run->add_option("-e,--env", opts.env, "Add KEY=VALUE to the environment (repeatable)");
  std::vector<std::string> positional_command;
  run->add_option("command", positional_command,
                  "The command to run instead of process.args (or after `--`)");
  run->positionals_at_end();
  auto* validate = app.add_subcommand("validate", "Check a config and its plugins; runs nothing");
  validate->add_option("-c,--config", opts.config, "The config file")->required();
  app.add_subcommand("plugins", "List the plugins found, with the keys each accepts");
  std::string target;
  auto* del = app.add_subcommand("delete", "Roll back what a dead run of NAME left behind");
  del->add_option("name", target, "Container name")->required();
  app.add_subcommand("gc", "Roll back the leftovers of every dead run");
  app.add_subcommand("list", "List runs and whether they are alive");
  auto* stats = app.add_subcommand("stats", "Resource usage of a running container");
  stats->add_option("name", target, "Container name")->required();
  app.require_subcommand(0, 1);

  // Everything after the first `--` is the workload's command, untouched by option parsing.
  std::vector<std::string> command;
  int parsed_argc = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") {
      command.assign(argv + i + 1, argv + argc);
      parsed_argc = i;
      break;
    }
  }
  try {
    app.parse(parsed_argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  setup_logging(opts.log_level, opts.log_format);
  opts.name_given = run->count("--name") > 0;

  try {
    if (*run) {
      positional_command.insert(positional_command.end(), command.begin(), command.end());
      return cmd_run(opts, positional_command);
    }
    if (!command.empty()) throw ConfigError("a command after `--` is only accepted by `modrt run`");
    if (*validate) return cmd_validate(opts);
    if (app.got_subcommand("plugins")) return cmd_plugins(opts);
    if (*del) return cmd_delete(opts, target);
    if (app.got_subcommand("gc")) return cmd_gc(opts);
    if (app.got_subcommand("list")) return cmd_list(opts);
    if (*stats) return cmd_stats(opts, target);
    if (!opts.config.empty()) return cmd_run(opts, {});
    std::cerr << app.help();
    return 2;
  } catch (const ConfigError& e) {
    std::cerr << "modrt: error: " << e.what() << '\n';
    return 2;
  } catch (const RunError& e) {
    std::cerr << "modrt: error: " << e.what() << '\n';
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "modrt: error: " << e.what() << '\n';
    return 125;
  }
}
