// modrt run by an ordinary user: a user the test creates, with /etc/subuid and /etc/subgid
// ranges through newuidmap/newgidmap, with only a self-map, and the maps it must refuse.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "ns_test.hpp"

namespace modrt::test::ns {
namespace {

namespace fs = std::filesystem;

// A file's exact content, or nullopt when it does not exist, to be put back in teardown.
std::optional<std::string> save(const fs::path& path) {
  if (!fs::exists(path)) return std::nullopt;
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void restore(const fs::path& path, const std::optional<std::string>& content) {
  if (!content) {
    fs::remove(path);
    return;
  }
  std::ofstream(path, std::ios::trunc) << *content;  // truncating keeps the file's owner and mode
}

class NsRootlessTest : public HostLeakTest {
 protected:
  void SetUp() override {
    HostLeakTest::SetUp();
    subuid_ = save("/etc/subuid");
    subgid_ = save("/etc/subgid");
    user_ = unique_name("mrtu");
    Result add = run({"useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", user_});
    ASSERT_EQ(add.exit_code, 0) << add.err;
    created_ = true;
    struct passwd* pw = ::getpwnam(user_.c_str());
    ASSERT_NE(pw, nullptr);
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
    // useradd may have granted ranges of its own; each test decides what the user has.
    restore("/etc/subuid", subuid_);
    restore("/etc/subgid", subgid_);
    // The user reads the configs and writes its state below the test's folder.
    fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read |
                                    fs::perms::group_exec | fs::perms::others_read |
                                    fs::perms::others_exec);
    root_ = dir / "state";
    fs::create_directory(root_);
    ASSERT_EQ(::chown(root_.c_str(), uid_, gid_), 0);
  }

  void TearDown() override {
    if (created_) run({"userdel", user_});
    restore("/etc/subuid", subuid_);
    restore("/etc/subgid", subgid_);
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(root_, ec))
      ADD_FAILURE() << "leaked state: " << entry.path();
    HostLeakTest::TearDown();
  }

  // Grants the test user one range in /etc/subuid and /etc/subgid.
  void grant(uint32_t start, uint32_t count) {
    std::string line = user_ + ":" + std::to_string(start) + ":" + std::to_string(count) + "\n";
    std::ofstream("/etc/subuid", std::ios::app) << line;
    std::ofstream("/etc/subgid", std::ios::app) << line;
  }

  Result as_user(const std::vector<std::string>& args) {
    std::vector<std::string> argv{
        "setpriv",       "--reuid",   std::to_string(uid_), "--regid", std::to_string(gid_),
        "--init-groups", "--",        modrt_binary(),       "--root",  root_.string(),
        "--plugin-path", plugin_dir()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }

  std::string user_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  fs::path root_;

 private:
  bool created_ = false;
  std::optional<std::string> subuid_, subgid_;
};

const std::string kReport =
    "echo pid1=$$; echo host=$(hostname); echo uid=$(id -u); echo gid=$(id -g); "
    "echo uid_map=$(awk '{print $1\":\"$2\":\"$3}' /proc/self/uid_map); "
    "echo gid_map=$(awk '{print $1\":\"$2\":\"$3}' /proc/self/gid_map); "
    "echo setgroups=$(cat /proc/self/setgroups); "
    "for k in user pid mnt uts ipc net cgroup; do echo $k=$(readlink /proc/self/ns/$k); done";

// A range far above any uid this machine hands out, so it is nobody's real id.
constexpr uint32_t kSubordinate = 2'000'000'000;

TEST_F(NsRootlessTest, SubordinateRangesGoThroughNewuidmap) {
  grant(kSubordinate, 65536);
  std::string cfg = dir.write("c.yaml", config(unique_name("ns"), kReport, "{hostname: rootless}",
                                               "", "{uid: 1000, gid: 1000}"));
  Result r = as_user({"run", "-c", cfg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = values(r.out);
  EXPECT_EQ(v["pid1"], "1");
  EXPECT_EQ(v["host"], "rootless");
  EXPECT_EQ(v["uid"], "1000");
  EXPECT_EQ(v["gid"], "1000");
  std::string expected_map =
      "0:" + std::to_string(uid_) + ":1 1:" + std::to_string(kSubordinate) + ":65536";
  EXPECT_EQ(v["uid_map"], expected_map);
  EXPECT_EQ(v["gid_map"],
            "0:" + std::to_string(gid_) + ":1 1:" + std::to_string(kSubordinate) + ":65536");
  EXPECT_EQ(v["setgroups"], "allow");  // newgidmap keeps it for a granted range
  for (const auto& kind : {"user", "pid", "mnt", "uts", "ipc", "net", "cgroup"})
    EXPECT_NE(v[kind], host_ns(kind)) << kind;
}

TEST_F(NsRootlessTest, ExplicitMapInsideTheGrant) {
  grant(kSubordinate, 65536);
  std::string cfg = dir.write(
      "c.yaml",
      config(unique_name("ns"), kReport,
             "{uid_map: [{container: 0, host: " + std::to_string(kSubordinate + 100) +
                 ", size: 1000}], gid_map: [{container: 0, host: " + std::to_string(gid_) + "}]}"));
  Result r = as_user({"run", "-c", cfg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = values(r.out);
  EXPECT_EQ(v["uid_map"], "0:" + std::to_string(kSubordinate + 100) + ":1000");
  EXPECT_EQ(v["gid_map"], "0:" + std::to_string(gid_) + ":1");
  EXPECT_EQ(v["setgroups"], "deny");  // a self-map written without CAP_SETGID
  EXPECT_EQ(v["uid"], "0");
}

TEST_F(NsRootlessTest, WithoutGrantsOnlyTheSelfMap) {
  std::string cfg = dir.write("c.yaml", config(unique_name("ns"), kReport, "{hostname: self}"));
  Result r = as_user({"run", "-c", cfg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = values(r.out);
  EXPECT_EQ(v["uid_map"], "0:" + std::to_string(uid_) + ":1");
  EXPECT_EQ(v["gid_map"], "0:" + std::to_string(gid_) + ":1");
  EXPECT_EQ(v["setgroups"], "deny");
  EXPECT_EQ(v["uid"], "0");
  EXPECT_EQ(v["pid1"], "1");
  EXPECT_EQ(v["host"], "self");
}

TEST_F(NsRootlessTest, TimeOffsetsWithoutPrivileges) {
  std::string cfg = dir.write("c.yaml", config(unique_name("ns"),
                                               "echo offsets=$(tr -s \" \n\" \"  \" "
                                               "< /proc/self/timens_offsets)",
                                               "{time_offsets: {boottime: 3600s}}"));
  Result r = as_user({"run", "-c", cfg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(values(r.out)["offsets"], "monotonic 0 0 boottime 3600 0");
}

TEST_F(NsRootlessTest, JoinsItsOwnUserNamespaceAndItsNetNamespace) {
  // The user's own "pod": a user and a net namespace it made itself with util-linux unshare.
  Background pod({"setpriv", "--reuid", std::to_string(uid_), "--regid", std::to_string(gid_),
                  "--init-groups", "--", "unshare", "--user", "--map-root-user", "--net", "sleep",
                  "1000"});
  std::string proc = "/proc/" + std::to_string(pod.pid()) + "/ns/";
  ASSERT_TRUE(wait_until(
      [&] { return ns_link(proc + "net") != host_ns("net") && !ns_link(proc + "net").empty(); }));
  std::string cfg = dir.write(
      "c.yaml", config(unique_name("ns"), kReport,
                       "{namespaces: [mount, uts, ipc], hostname: pod, join: {user: " + proc +
                           "user, net: " + proc + "net}}"));
  Result r = as_user({"run", "-c", cfg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = values(r.out);
  EXPECT_EQ(v["user"], ns_link(proc + "user"));
  EXPECT_EQ(v["net"], ns_link(proc + "net"));
  EXPECT_EQ(v["uid_map"], "0:" + std::to_string(uid_) + ":1");
  EXPECT_EQ(v["host"], "pod");
  EXPECT_NE(v["uts"], host_ns("uts"));
}

TEST_F(NsRootlessTest, RefusesHostIdsTheUserDoesNotOwn) {
  std::string cfg =
      dir.write("c.yaml", config(unique_name("ns"), "echo ran",
                                 "{uid_map: [{container: 0, host: 100000, size: 65536}]}"));
  Result v = as_user({"validate", "-c", cfg});
  EXPECT_EQ(v.exit_code, 2) << v.err;
  EXPECT_NE(v.err.find("stages[0].with.uid_map[0]: host uids 100000..165535 are not yours to map"),
            std::string::npos)
      << v.err;
  Result r = as_user({"run", "-c", cfg});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(NsRootlessTest, RefusesIdsBeyondItsGrant) {
  grant(kSubordinate, 1000);
  std::string cfg =
      dir.write("c.yaml", config(unique_name("ns"), "echo ran",
                                 "{gid_map: [{container: 0, host: " + std::to_string(kSubordinate) +
                                     ", size: 1001}]}"));
  Result v = as_user({"validate", "-c", cfg});
  EXPECT_EQ(v.exit_code, 2) << v.err;
  EXPECT_NE(v.err.find("gid_map[0]: host gids"), std::string::npos) << v.err;
}

TEST_F(NsRootlessTest, RefusesNamespacesWithoutAUserNamespace) {
  std::string cfg =
      dir.write("c.yaml", config(unique_name("ns"), "echo ran", "{namespaces: [pid, net]}"));
  Result v = as_user({"validate", "-c", cfg});
  EXPECT_EQ(v.exit_code, 2) << v.err;
  EXPECT_NE(v.err.find("creating or joining namespaces needs a user namespace"), std::string::npos)
      << v.err;
}

TEST_F(NsRootlessTest, RefusesToJoinSomeoneElsesUserNamespace) {
  // A user namespace root made, bound onto a file the test user can open.
  Background owner({"unshare", "--user", "--map-root-user", "sleep", "1000"});
  std::string proc = "/proc/" + std::to_string(owner.pid()) + "/ns/user";
  ASSERT_TRUE(wait_until([&] { return ns_link(proc) != host_ns("user"); }));
  std::string path = dir.write("userns", "");
  ASSERT_EQ(run({"mount", "--bind", proc, path}).exit_code, 0);
  std::string cfg = dir.write(
      "c.yaml",
      config(unique_name("ns"), "echo ran", "{namespaces: [mount], join: {user: " + path + "}}"));
  Result v = as_user({"validate", "-c", cfg});
  EXPECT_EQ(run({"umount", path}).exit_code, 0);
  EXPECT_EQ(v.exit_code, 2) << v.err;
  EXPECT_NE(v.err.find("join.user: user namespace '" + path + "' belongs to uid 0"),
            std::string::npos)
      << v.err;
}

}  // namespace
}  // namespace modrt::test::ns
