#include <algorithm>
#include <charconv>

#include "modrt/config.hpp"
#include "modrt/error.hpp"
#include "modrt/suggest.hpp"
#include "modrt/units.hpp"

namespace modrt {

namespace {

const char* kind_of(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Null:
      return "nothing (null)";
    default:
      return "nothing";
  }
}

std::string join_keys(const std::vector<std::string_view>& keys) {
  std::string out;
  for (auto k : keys) {
    if (!out.empty()) out += ", ";
    out += k;
  }
  return out;
}

}  // namespace

ConfigNode::ConfigNode(YAML::Node node, std::shared_ptr<const std::string> file, std::string path)
    : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)) {}

std::string ConfigNode::location() const {
  YAML::Mark mark = node_.IsDefined() ? node_.Mark() : YAML::Mark::null_mark();
  if (mark.is_null()) return *file_;
  return fmt::format("{}:{}:{}", *file_, mark.line + 1, mark.column + 1);
}

void ConfigNode::fail(std::string_view message) const {
  if (path_.empty()) throw ConfigError(fmt::format("{}: {}", location(), message));
  throw ConfigError(fmt::format("{}: {}: {}", location(), path_, message));
}

void ConfigNode::expect_map() const {
  if (!node_.IsMap()) fail(fmt::format("expected a map, got {}", kind_of(node_)));
}

void ConfigNode::expect_keys(std::initializer_list<std::string_view> allowed) const {
  expect_keys(std::vector<std::string>(allowed.begin(), allowed.end()));
}

void ConfigNode::expect_keys(const std::vector<std::string>& allowed) const {
  if (node_.IsNull()) return;  // an empty block: nothing set
  expect_map();
  std::vector<std::string> seen;
  for (const auto& kv : node_) {
    ConfigNode key(kv.first, file_, path_);
    if (!kv.first.IsScalar()) key.fail("map keys must be plain strings");
    std::string name = kv.first.Scalar();
    std::string key_path = path_.empty() ? name : path_ + "." + name;
    ConfigNode at(kv.first, file_, key_path);
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) at.fail("key given twice");
    seen.push_back(name);
    if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
    std::vector<std::string_view> keys(allowed.begin(), allowed.end());
    std::string message = fmt::format("unknown key '{}'{}", name, did_you_mean(name, allowed));
    if (keys.empty())
      message += "; this block takes no keys";
    else
      message += fmt::format("; expected one of: {}", join_keys(keys));
    at.fail(message);
  }
}

std::optional<ConfigNode> ConfigNode::find(std::string_view key) const {
  if (!node_.IsMap()) return std::nullopt;
  for (const auto& kv : node_) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) {
      std::string key_path = path_.empty() ? std::string(key) : path_ + "." + std::string(key);
      return ConfigNode(kv.second, file_, std::move(key_path));
    }
  }
  return std::nullopt;
}

ConfigNode ConfigNode::require(std::string_view key) const {
  expect_map();
  if (auto child = find(key)) return *child;
  fail(fmt::format("missing required key '{}'", key));
}

std::vector<std::pair<std::string, ConfigNode>> ConfigNode::entries() const {
  std::vector<std::pair<std::string, ConfigNode>> out;
  if (node_.IsNull()) return out;
  expect_map();
  for (const auto& kv : node_) {
    if (!kv.first.IsScalar())
      ConfigNode(kv.first, file_, path_).fail("map keys must be plain strings");
    std::string name = kv.first.Scalar();
    std::string key_path = path_.empty() ? name : path_ + "." + name;
    for (const auto& [k, v] : out)
      if (k == name) ConfigNode(kv.first, file_, key_path).fail("key given twice");
    out.emplace_back(name, ConfigNode(kv.second, file_, key_path));
  }
  return out;
}

std::vector<ConfigNode> ConfigNode::items() const {
  std::vector<ConfigNode> out;
  if (node_.IsNull()) return out;
  if (!node_.IsSequence()) fail(fmt::format("expected a list, got {}", kind_of(node_)));
  size_t i = 0;
  for (const auto& item : node_) out.emplace_back(item, file_, fmt::format("{}[{}]", path_, i++));
  return out;
}

std::string ConfigNode::as_string() const {
  if (!node_.IsScalar()) fail(fmt::format("expected a string, got {}", kind_of(node_)));
  // The kernel takes C strings: a NUL ("\0" in YAML) would silently cut a path, an argument or an
  // environment value short.
  if (node_.Scalar().find('\0') != std::string::npos)
    fail("holds a NUL byte, which no path, argument or environment value can carry");
  return node_.Scalar();
}

bool ConfigNode::as_bool() const {
  if (node_.IsScalar()) {
    const std::string& s = node_.Scalar();
    if (s == "true" || s == "True" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "False" || s == "no" || s == "off") return false;
  }
  fail(fmt::format("expected true or false, got {}",
                   node_.IsScalar() ? "'" + node_.Scalar() + "'" : kind_of(node_)));
}

int64_t ConfigNode::as_int(int64_t min, int64_t max) const {
  std::string s = as_string();
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size())
    fail(fmt::format("expected an integer, got '{}'", s));
  if (value < min || value > max) fail(fmt::format("{} is out of range [{}, {}]", value, min, max));
  return value;
}

uint64_t ConfigNode::as_uint(uint64_t max) const {
  std::string s = as_string();
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size())
    fail(fmt::format("expected a non-negative integer, got '{}'", s));
  if (value > max) fail(fmt::format("{} is larger than {}", value, max));
  return value;
}

uint64_t ConfigNode::as_size() const {
  std::string s = as_string();
  auto size = parse_size(s);
  if (!size) fail(fmt::format("expected a size like 64M, 1.5G or 4096, got '{}'", s));
  return *size;
}

std::chrono::nanoseconds ConfigNode::as_duration() const {
  std::string s = as_string();
  auto d = parse_duration(s);
  if (!d) fail(fmt::format("expected a duration like 250ms or 2s, got '{}'", s));
  return *d;
}

std::vector<std::string> ConfigNode::as_string_list() const {
  std::vector<std::string> out;
  for (const auto& item : items()) out.push_back(item.as_string());
  return out;
}

std::string ConfigNode::string_or(std::string_view key, std::string fallback) const {
  auto child = find(key);
  return child ? child->as_string() : std::move(fallback);
}

bool ConfigNode::bool_or(std::string_view key, bool fallback) const {
  auto child = find(key);
  return child ? child->as_bool() : fallback;
}

int64_t ConfigNode::int_or(std::string_view key, int64_t fallback) const {
  auto child = find(key);
  return child ? child->as_int() : fallback;
}

}  // namespace modrt
