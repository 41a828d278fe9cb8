#include "lockdown_test.hpp"

#include <sstream>

namespace modrt::test::seccomp {

std::string host_probe() {
  return SECCOMP_PROBE;
}

std::string probe(const Container& c) {
  return c.rootfs ? "/probe" : host_probe();
}

std::string yaml_quote(const std::string& text) {
  std::string out = "\"";
  for (char ch : text) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

std::string LockdownTest::write_config(const Container& c) {
  std::string name = name_ = unique_name("sc");
  std::string yaml = "name: " + name + "\nprocess:\n  args: [";
  for (size_t i = 0; i < c.args.size(); ++i) yaml += (i ? ", " : "") + yaml_quote(c.args[i]);
  yaml += "]\n  env: [PATH=/bin:/sbin:/usr/bin:/usr/sbin]\n";
  if (!c.user.empty()) yaml += "  user: " + c.user + "\n";
  yaml += "stages:\n";
  if (c.rootfs) {
    // No network namespace: loopback of the host is all the httpd test needs, and it is up.
    yaml +=
        "  - plugin: ns\n    with: " +
        (c.ns_with.empty() ? std::string("{namespaces: [user, pid, mount, uts, ipc], "
                                         "uid_map: [{container: 0, host: 200000, size: 65536}], "
                                         "gid_map: [{container: 0, host: 200000, size: 65536}]}")
                           : c.ns_with) +
        "\n";
    yaml += "  - plugin: fs\n    with: {rootfs: " + busybox_rootfs() +
            ", overlay: {}, mounts: [{type: bind, source: " + host_probe() +
            ", destination: /probe, readonly: true}]}\n";
  }
  yaml += "  - plugin: seccomp\n    with: " + c.seccomp_with + "\n";
  return dir.write(name + ".yaml", yaml);
}

void LockdownTest::TearDown() {
  std::error_code ec;
  std::filesystem::remove_all(modrt.state_root() / ".seccomp", ec);
  HostLeakTest::TearDown();
}

Result LockdownTest::run(const Container& c) {
  return modrt.run({"run", "-c", write_config(c)});
}

Result LockdownTest::validate(const Container& c) {
  return modrt.run({"validate", "-c", write_config(c)});
}

Result LockdownTest::sh(const std::string& script, const std::string& seccomp_with,
                        const std::string& user) {
  Container c;
  c.args = {"/bin/sh", "-c", script};
  c.seccomp_with = seccomp_with;
  c.user = user;
  return run(c);
}

std::map<std::string, uint64_t> capability_lines(const std::string& out) {
  std::map<std::string, uint64_t> result;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    auto colon = line.find(':');
    if (line.rfind("Cap", 0) != 0 || colon == std::string::npos) continue;
    result[line.substr(0, colon)] = std::stoull(line.substr(colon + 1), nullptr, 16);
  }
  return result;
}

std::pair<std::string, std::string> limit_line(const std::string& limits,
                                               const std::string& title) {
  std::istringstream in(limits);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(title, 0) != 0) continue;
    std::istringstream fields(line.substr(title.size()));
    std::string soft, hard;
    fields >> soft >> hard;
    return {soft, hard};
  }
  return {};
}

}  // namespace modrt::test::seccomp
