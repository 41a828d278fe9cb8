#include "profile.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "modrt/error.hpp"
#include "suggest.hpp"

namespace modrt::seccomp {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "EPERM" or "1" -> 1. glibc names every errno it knows; that table is the one users read in man
// pages.
std::optional<int> parse_errno(std::string_view text) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc() && ptr == text.data() + text.size())
    return value > 0 && value < 4096 ? std::optional<int>(value) : std::nullopt;
  for (int code = 1; code < 256; ++code) {
    const char* name = ::strerrorname_np(code);
    if (name && text == name) return code;
  }
  // Aliases glibc names by their other spelling.
  if (text == "ENOTSUP") return ENOTSUP;
  if (text == "EWOULDBLOCK") return EWOULDBLOCK;
  if (text == "EDEADLOCK") return EDEADLOCK;
  return std::nullopt;
}

// Decimal, 0x hexadecimal or 0 octal, as in C; the whole scalar must be the number.
std::optional<uint64_t> parse_number(const std::string& text) {
  if (text.empty() || text[0] == '-' || text[0] == '+' ||
      std::isspace(static_cast<unsigned char>(text[0])))
    return std::nullopt;
  // YAML 1.2 writes octal as 0o17; C as 017.
  std::string c_text = text.rfind("0o", 0) == 0 ? "0" + text.substr(2) : text;
  errno = 0;
  char* end = nullptr;
  unsigned long long value = std::strtoull(c_text.c_str(), &end, 0);
  if (errno != 0 || end != c_text.c_str() + c_text.size()) return std::nullopt;
  return value;
}

std::optional<scmp_compare> parse_operator(std::string_view text) {
  std::string op = lower(text);
  if (op.rfind("scmp_cmp_", 0) == 0) op = op.substr(9);
  if (op == "eq" || op == "==") return SCMP_CMP_EQ;
  if (op == "ne" || op == "!=") return SCMP_CMP_NE;
  if (op == "lt" || op == "<") return SCMP_CMP_LT;
  if (op == "le" || op == "<=") return SCMP_CMP_LE;
  if (op == "gt" || op == ">") return SCMP_CMP_GT;
  if (op == "ge" || op == ">=") return SCMP_CMP_GE;
  if (op == "masked_eq") return SCMP_CMP_MASKED_EQ;
  return std::nullopt;
}

ArgCondition parse_condition(const ConfigNode& node) {
  node.expect_keys({"index", "op", "value", "value2"});
  ArgCondition cond;
  cond.index = static_cast<unsigned>(node.require("index").as_uint(5));
  ConfigNode op = node.require("op");
  auto parsed = parse_operator(op.as_string());
  if (!parsed)
    op.fail(fmt::format("unknown comparison '{}' (expected eq, ne, lt, le, gt, ge or masked_eq)",
                        op.as_string()));
  cond.op = *parsed;
  auto number = [](const ConfigNode& n) {
    auto v = parse_number(n.as_string());
    if (!v)
      n.fail(
          fmt::format("expected an unsigned 64-bit number (decimal, 0x hex or 0o octal), got '{}'",
                      n.as_string()));
    return *v;
  };
  cond.value = number(node.require("value"));
  if (auto v2 = node.find("value2")) {
    if (cond.op != SCMP_CMP_MASKED_EQ)
      v2->fail(
          "only masked_eq takes value2 (value is the mask, value2 what the masked argument "
          "equals)");
    cond.value2 = number(*v2);
  } else if (cond.op == SCMP_CMP_MASKED_EQ) {
    node.fail("masked_eq needs value (the mask) and value2 (what the masked argument must equal)");
  }
  return cond;
}

Action parse_action_node(const ConfigNode& node) {
  std::string text = node.as_string();
  auto action = parse_action(text);
  if (!action)
    node.fail(
        fmt::format("unknown action '{}' (expected allow, log, trap, kill, kill_thread, "
                    "errno or errno(NAME|NUMBER), e.g. errno(EPERM))",
                    text));
  return *action;
}

Rule parse_rule(const ConfigNode& node) {
  node.expect_keys({"names", "action", "args"});
  Rule rule;
  ConfigNode names = node.require("names");
  for (const auto& item : names.items()) {
    std::string name = item.as_string();
    if (::seccomp_syscall_resolve_name(name.c_str()) == __NR_SCMP_ERROR)
      item.fail(fmt::format("unknown system call '{}'{}", name,
                            did_you_mean(name, native_syscall_names())));
    rule.names.push_back(std::move(name));
  }
  if (rule.names.empty()) names.fail("names no system call");
  rule.action = parse_action_node(node.require("action"));
  if (auto args = node.find("args")) {
    std::vector<unsigned> seen;
    for (const auto& item : args->items()) {
      ArgCondition cond = parse_condition(item);
      // libseccomp ANDs the comparisons of one rule and takes one per argument.
      if (std::find(seen.begin(), seen.end(), cond.index) != seen.end())
        item.fail(
            fmt::format("argument {} is compared twice in one rule; write one rule per "
                        "alternative instead",
                        cond.index));
      seen.push_back(cond.index);
      rule.args.push_back(cond);
    }
  }
  rule.source = node;
  return rule;
}

uint32_t parse_architecture(const ConfigNode& node) {
  std::string name = lower(node.as_string());
  if (name.rfind("scmp_arch_", 0) == 0) name = name.substr(10);
  if (name == "native") return ::seccomp_arch_native();
  if (name == "i386" || name == "i686") name = "x86";
  if (name == "amd64") name = "x86_64";
  uint32_t token = ::seccomp_arch_resolve_name(name.c_str());
  if (token == 0)
    node.fail(fmt::format("unknown architecture '{}' (e.g. x86_64, x86, x32, aarch64, arm)",
                          node.as_string()));
  return token;
}

bool same_conditions(const std::vector<ArgCondition>& a, const std::vector<ArgCondition>& b) {
  auto in = [](const ArgCondition& c, const std::vector<ArgCondition>& list) {
    return std::find(list.begin(), list.end(), c) != list.end();
  };
  return a.size() == b.size() && std::all_of(a.begin(), a.end(), [&](auto& c) { return in(c, b); });
}

// libseccomp resolves overlapping rules its own way: the first rule without arguments wins over
// every other rule of that call, even one whose arguments match. Refuse rule sets where that would
// make a rule silently dead, so that the filter behaves as the rules read.
void check_consistent(const std::vector<Rule>& rules) {
  for (size_t i = 0; i < rules.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (rules[i].action == rules[j].action) continue;
      bool both_conditional = !rules[i].args.empty() && !rules[j].args.empty();
      if (both_conditional && !same_conditions(rules[i].args, rules[j].args)) continue;
      for (const auto& name : rules[i].names) {
        if (std::find(rules[j].names.begin(), rules[j].names.end(), name) == rules[j].names.end())
          continue;
        if (both_conditional)
          rules[i].source->fail(fmt::format(
              "'{}' already has a rule with the same args and action {} ({}); one call cannot "
              "take two actions",
              name, rules[j].action.to_string(), rules[j].source->path()));
        rules[i].source->fail(fmt::format(
            "'{}' also has a rule with action {} ({}); a rule without args decides for every call "
            "of it, so two rules for one system call need the same action unless both have args",
            name, rules[j].action.to_string(), rules[j].source->path()));
      }
    }
  }
}

}  // namespace

uint32_t Action::to_libseccomp() const {
  switch (kind) {
    case Kind::allow:
      return SCMP_ACT_ALLOW;
    case Kind::errno_return:
      return SCMP_ACT_ERRNO(static_cast<uint32_t>(errno_value));
    case Kind::kill_process:
      return SCMP_ACT_KILL_PROCESS;
    case Kind::kill_thread:
      return SCMP_ACT_KILL_THREAD;
    case Kind::trap:
      return SCMP_ACT_TRAP;
    case Kind::log:
      return SCMP_ACT_LOG;
  }
  return SCMP_ACT_KILL_PROCESS;
}

std::string Action::to_string() const {
  switch (kind) {
    case Kind::allow:
      return "allow";
    case Kind::errno_return: {
      const char* name = ::strerrorname_np(errno_value);
      return name ? fmt::format("errno({})", name) : fmt::format("errno({})", errno_value);
    }
    case Kind::kill_process:
      return "kill";
    case Kind::kill_thread:
      return "kill_thread";
    case Kind::trap:
      return "trap";
    case Kind::log:
      return "log";
  }
  return "?";
}

std::optional<Action> parse_action(std::string_view text) {
  std::string a = lower(text);
  if (a == "allow") return Action::allow();
  if (a == "log") return Action{Action::Kind::log, 0};
  if (a == "trap") return Action{Action::Kind::trap, 0};
  if (a == "kill" || a == "kill_process") return Action::kill();
  if (a == "kill_thread") return Action{Action::Kind::kill_thread, 0};
  if (a == "errno") return Action::fail_with(EPERM);
  if (a.rfind("errno(", 0) == 0 && a.back() == ')') {
    // Errno names are upper case; take them from the original text.
    std::string_view inner = text.substr(6, text.size() - 7);
    if (auto code = parse_errno(inner)) return Action::fail_with(*code);
  }
  return std::nullopt;
}

void override_rules(Profile& profile, std::vector<Rule> rules) {
  for (const auto& added : rules) {
    for (auto& old : profile.rules) {
      std::erase_if(old.names, [&](const std::string& n) {
        return std::find(added.names.begin(), added.names.end(), n) != added.names.end();
      });
    }
  }
  std::erase_if(profile.rules, [](const Rule& r) { return r.names.empty(); });
  for (auto& r : rules) profile.rules.push_back(std::move(r));
}

void refine_profile(Profile& profile, const ConfigNode& block) {
  if (auto action = block.find("default_action"))
    profile.default_action = parse_action_node(*action);
  if (auto archs = block.find("architectures")) {
    profile.architectures.clear();
    for (const auto& item : archs->items()) {
      uint32_t token = parse_architecture(item);
      if (std::find(profile.architectures.begin(), profile.architectures.end(), token) ==
          profile.architectures.end())
        profile.architectures.push_back(token);
    }
    if (profile.architectures.empty()) archs->fail("names no architecture");
    if (std::find(profile.architectures.begin(), profile.architectures.end(),
                  ::seccomp_arch_native()) == profile.architectures.end())
      archs->fail(
          "must include the native architecture (x86_64 here), or every system call of "
          "the workload would be killed as coming from a foreign architecture");
  }
  if (auto rules = block.find("rules")) {
    std::vector<Rule> parsed;
    for (const auto& item : rules->items()) parsed.push_back(parse_rule(item));
    check_consistent(parsed);
    override_rules(profile, std::move(parsed));
  }
}

Profile load_profile_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) {
    int code = errno;
    throw Error(fmt::format("seccomp profile '{}': {}", file.string(), std::strerror(code)), code);
  }
  std::stringstream text;
  text << in.rdbuf();
  auto label = std::make_shared<const std::string>(file.string());
  YAML::Node root;
  try {
    root = YAML::Load(text.str());
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}:{}:{}: invalid YAML: {}", file.string(), e.mark.line + 1,
                                  e.mark.column + 1, e.msg));
  }
  ConfigNode doc(root, label, "");
  if (!root.IsMap())
    doc.fail("a seccomp profile is a map with default_action, architectures, rules");
  doc.expect_keys({"default_action", "architectures", "rules"});
  Profile profile;
  profile.label = file.string();
  refine_profile(profile, doc);
  return profile;
}

std::optional<Action> unconditional_action(const Profile& profile, std::string_view name) {
  std::optional<Action> found;
  for (const auto& rule : profile.rules) {
    if (std::find(rule.names.begin(), rule.names.end(), name) == rule.names.end()) continue;
    if (!rule.args.empty()) return std::nullopt;
    found = rule.action;
  }
  return found ? found : profile.default_action;
}

}  // namespace modrt::seccomp
