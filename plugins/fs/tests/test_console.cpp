// /dev/console with `terminal: true`: the pty the core gives the workload is bound onto it, so
// `tty` names it and programs that open /dev/console reach the user's terminal.
#include "fs_test.hpp"

namespace modrt::test::fs {
namespace {

std::string with_terminal(std::string yaml) {
  const std::string key = "process:\n";
  yaml.insert(yaml.find(key) + key.size(), "  terminal: true\n");
  return yaml;
}

TEST_P(FsVariantTest, ConsoleIsTheTerminalWithTerminalTrue) {
  Result r = run_config(with_terminal(
      config(unique_name("fscons"),
             "test -c /dev/console && echo console-is-a-char-device; tty; "
             "echo via-console > /dev/console; "
             "[ \"$(stat -L -c %t:%T /dev/console)\" = \"$(stat -L -c %t:%T /proc/self/fd/0)\" ] "
             "&& echo same-device",
             "{rootfs: " + busybox_rootfs() + "}", GetParam())));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("console-is-a-char-device"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/dev/console\r\n"), std::string::npos) << r.out;
  // Reopening it needs the pty's owner to be mapped: the core allocates the pty as host root, which
  // a user namespace (container 0 = host 100000) does not map, so there only fds 0-2 reach it.
  if (GetParam() == Variant::root) {
    EXPECT_NE(r.out.find("via-console"), std::string::npos) << r.out;
  }
  EXPECT_NE(r.out.find("same-device"), std::string::npos) << r.out;
}

TEST_P(FsVariantTest, NoConsoleWithoutATerminal) {
  Result r = run_config(config(unique_name("fscons"),
                               "test -e /dev/console || echo no-console; tty || echo no-tty",
                               "{rootfs: " + busybox_rootfs() + "}", GetParam()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("no-console"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no-tty"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace modrt::test::fs
