// The config loader: parse_config on the whole input, then every ConfigNode reader on every node of
// the document, as the plugins use them (their `with:` blocks can hold any YAML, and each plugin
// reads its keys through these same calls: sizes, durations, integers, lists, entries).
#include <cstddef>
#include <cstdint>
#include <memory>

#include <yaml-cpp/yaml.h>

#include "fuzz_support.hpp"
#include "modrt/config.hpp"

namespace {

using modrt::ConfigNode;
using modrt::fuzz::expect_modrt_errors;

// Aliases let a small document name one node exponentially often ("billion laughs"): the walk
// below stops early, since the plugins only ever read the keys they know.
constexpr int kMaxDepth = 64;
constexpr int kMaxNodes = 4096;
int nodes_left = 0;

void read_everything(const ConfigNode& node, int depth) {
  if (depth > kMaxDepth || nodes_left-- <= 0) return;
  (void)node.location();
  if (node.is_scalar()) {
    expect_modrt_errors([&] { (void)node.as_string(); });
    expect_modrt_errors([&] { (void)node.as_bool(); });
    expect_modrt_errors([&] { (void)node.as_int(); });
    expect_modrt_errors([&] { (void)node.as_int(-1000, 1000); });
    expect_modrt_errors([&] { (void)node.as_uint(); });
    expect_modrt_errors([&] { (void)node.as_uint(UINT32_MAX); });
    expect_modrt_errors([&] { (void)node.as_size(); });
    expect_modrt_errors([&] { (void)node.as_duration(); });
    return;
  }
  expect_modrt_errors([&] { (void)node.as_string_list(); });
  expect_modrt_errors([&] {
    for (const auto& item : node.items()) read_everything(item, depth + 1);
  });
  expect_modrt_errors([&] {
    for (const auto& [key, value] : node.entries()) {
      (void)node.find(key);
      (void)node.string_or(key, "");
      read_everything(value, depth + 1);
    }
  });
  expect_modrt_errors([&] { node.expect_keys({"name", "process", "stages", "with", "args"}); });
  expect_modrt_errors([&] { (void)node.require("name"); });
  expect_modrt_errors([&] { (void)node.bool_or("init", false); });
  expect_modrt_errors([&] { (void)node.int_or("size", 0); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = modrt::fuzz::as_text(data, size);
  expect_modrt_errors([&] {
    modrt::Config config = modrt::parse_config(text, "fuzz.yaml", "/etc/modrt");
    using modrt::fuzz::expect_c_string;
    expect_c_string(config.name, "name");
    expect_c_string(config.hostname, "hostname");
    for (const auto& arg : config.process.args) expect_c_string(arg, "process.args");
    for (const auto& env : config.process.env) expect_c_string(env, "process.env");
    expect_c_string(config.process.cwd, "process.cwd");
    for (const auto& dir : config.plugin_path) expect_c_string(dir, "plugin_path");
    nodes_left = kMaxNodes;
    for (const auto& stage : config.stages) read_everything(stage.with, 0);
    (void)config.resolve("rootfs");
    (void)config.stage("ns");
  });
  // The readers on their own, for documents the core refuses (plugins get only what it accepts,
  // but a `with:` block is free-form YAML below the keys the core checks).
  expect_modrt_errors([&] {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception&) {
      return;  // parse_config turns this into a ConfigError, checked above
    }
    nodes_left = kMaxNodes;
    read_everything(ConfigNode(root, std::make_shared<const std::string>("fuzz.yaml"), ""), 0);
  });
  return 0;
}
