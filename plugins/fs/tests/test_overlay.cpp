// Overlay roots: writes land in the upper layer only, the lower layer stays byte-for-byte the
// same, containers sharing a lower see only their own writes, and the ephemeral upper is gone
// (and no longer mounted anywhere) once the container has exited or failed.
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "fs_test.hpp"

namespace modrt::test::fs {
namespace {

namespace stdfs = std::filesystem;
using namespace std::chrono_literals;

std::string slurp(const stdfs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes, rewrites, deletes and chmods inside the root.
constexpr const char* kScribble =
    "echo new > /etc/new-file && echo more >> /etc/passwd && rm /etc/hosts && "
    "chmod 700 /www && mkdir -p /var/lib/app && echo x > /var/lib/app/db && "
    "rm /bin/ls && ls /etc";

TEST_P(FsVariantTest, WritesLandInTheUpperOnly) {
  stdfs::path lower = private_rootfs(dir);
  stdfs::path upper = dir / "upper";
  std::string before = tree_digest(lower);
  std::string name = unique_name("fsup");
  Result r =
      run_config(config(name, kScribble,
                        "{rootfs: " + lower.string() + ", overlay: {upper: " + upper.string() +
                            ", work: " + (dir / "work").string() + "}}",
                        GetParam()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("new-file"), std::string::npos);
  EXPECT_EQ(r.out.find("hosts"), std::string::npos) << r.out;

  EXPECT_EQ(tree_digest(lower), before) << "the lower layer was written";
  EXPECT_FALSE(stdfs::exists(lower / "etc/new-file"));
  EXPECT_TRUE(stdfs::exists(lower / "etc/hosts"));
  EXPECT_TRUE(stdfs::is_symlink(lower / "bin/ls"));

  EXPECT_EQ(slurp(upper / "etc/new-file"), "new\n");
  EXPECT_NE(slurp(upper / "etc/passwd").find("more\n"), std::string::npos);
  EXPECT_EQ(slurp(upper / "var/lib/app/db"), "x\n");
  struct stat st {};
  ASSERT_EQ(::lstat((upper / "etc/hosts").c_str(), &st), 0) << "no whiteout for the deletion";
  EXPECT_TRUE(S_ISCHR(st.st_mode));  // overlayfs whiteout: a 0/0 character device
}

TEST_F(FsTest, TwoContainersSharingALowerSeeOnlyTheirOwnWrites) {
  stdfs::path lower = private_rootfs(dir);
  stdfs::path sync = dir / "sync";
  stdfs::create_directories(sync);
  std::string before = tree_digest(lower);
  std::string fs_with = "{rootfs: " + lower.string() +
                        ", overlay: {}, mounts: [{type: bind, source: " + sync.string() +
                        ", destination: /sync}]}";
  // A writes its file, then waits until B has written and looked, and looks itself.
  Background a(modrt.argv(
      {"run", "-c",
       write_config(config(unique_name("fsa"),
                           "echo A > /mine; echo a > /only-a; touch /sync/a-ready; "
                           "i=0; while [ ! -e /sync/b-done ] && [ $i -lt 600 ]; do sleep 0.05; "
                           "i=$((i+1)); done; echo mine=$(cat /mine); ls /",
                           fs_with))}));
  ASSERT_TRUE(wait_until([&] { return stdfs::exists(sync / "a-ready"); }, 20000ms));
  Result b = run_config(config(unique_name("fsb"),
                               "echo B > /mine; echo b > /only-b; echo mine=$(cat /mine); ls /; "
                               "touch /sync/b-done",
                               fs_with));
  Result ra = a.wait();
  ASSERT_EQ(b.exit_code, 0) << b.err;
  ASSERT_EQ(ra.exit_code, 0) << ra.err;
  EXPECT_NE(ra.out.find("mine=A\n"), std::string::npos) << ra.out;
  EXPECT_NE(b.out.find("mine=B\n"), std::string::npos) << b.out;
  EXPECT_NE(ra.out.find("only-a"), std::string::npos);
  EXPECT_EQ(ra.out.find("only-b"), std::string::npos) << ra.out;
  EXPECT_NE(b.out.find("only-b"), std::string::npos);
  EXPECT_EQ(b.out.find("only-a"), std::string::npos) << b.out;
  EXPECT_EQ(tree_digest(lower), before);
}

TEST_P(FsVariantTest, EphemeralUpperOnDiskIsRemovedAfterExit) {
  stdfs::path lower = private_rootfs(dir);
  std::string before = tree_digest(lower);
  std::string name = unique_name("fseph");
  Result r = run_config(config(
      name, std::string(kScribble) + " >/dev/null; grep -o 'upperdir=[^,]*' /proc/self/mountinfo",
      "{rootfs: " + lower.string() + ", overlay: {ephemeral: disk}}", GetParam()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto eq = r.out.find("upperdir=");
  ASSERT_NE(eq, std::string::npos) << r.out;
  std::string upper = r.out.substr(eq + 9, r.out.find('\n', eq) - eq - 9);
  // The upper lived in this run's state dir and went with it.
  EXPECT_EQ(upper, (modrt.state_root() / name / "fs/upper").string());
  EXPECT_FALSE(stdfs::exists(upper));
  EXPECT_FALSE(stdfs::exists(modrt.state_root() / name));
  // Not merely unlinked: no mount namespace anywhere still holds the overlay.
  EXPECT_FALSE(any_mount_mentions(upper));
  EXPECT_EQ(tree_digest(lower), before);
}

TEST_P(FsVariantTest, EphemeralUpperInMemoryLeavesNothing) {
  stdfs::path lower = private_rootfs(dir);
  std::string before = tree_digest(lower);
  std::string name = unique_name("fsmem");
  Result r = run_config(config(
      name,
      std::string(kScribble) + " >/dev/null; grep ' / / ' /proc/self/mountinfo | cut -d' ' -f3",
      "{rootfs: " + lower.string() + ", overlay: {}}", GetParam()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string device = r.out.substr(0, r.out.find('\n'));
  ASSERT_EQ(device.rfind("0:", 0), 0u) << r.out;
  // The overlay (and with it the private tmpfs holding its upper) is gone from every mount
  // namespace on the host; nothing was written to disk and no state dir is left.
  EXPECT_FALSE(any_mount_mentions(" " + device + " / ")) << device;
  EXPECT_FALSE(stdfs::exists(modrt.state_root() / name));
  EXPECT_EQ(tree_digest(lower), before);
}

TEST_F(FsTest, EphemeralUpperInMemoryHonoursItsSize) {
  std::string name = unique_name("fsmsz");
  Result r = run_config(config(name,
                               "dd if=/dev/zero of=/small bs=1024 count=256 2>/dev/null && "
                               "echo small-ok; (dd if=/dev/zero of=/big bs=1024 count=4096) 2>&1",
                               "{rootfs: " + busybox_rootfs() + ", overlay: {size: 1M}}"));
  EXPECT_NE(r.out.find("small-ok"), std::string::npos) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("No space left on device"), std::string::npos) << r.out << r.err;
}

TEST_F(FsTest, EphemeralUpperIsRemovedWhenALaterStageFails) {
  for (const char* phase : {"apply_host", "apply_workload"}) {
    std::string name = unique_name("fsfail");
    std::string log = (dir / (std::string("log-") + phase)).string();
    Result r = run_config(config(
        name, "true", "{rootfs: " + busybox_rootfs() + ", overlay: {ephemeral: disk}}",
        Variant::root,
        "  - plugin: fault1\n    with: {fail_at: " + std::string(phase) + ", log: " + log + "}\n"));
    EXPECT_EQ(r.exit_code, 125) << phase << ": " << r.err;
    EXPECT_NE(r.err.find("failed at"), std::string::npos) << r.err;
    EXPECT_FALSE(stdfs::exists(modrt.state_root() / name)) << phase;
    EXPECT_FALSE(any_mount_mentions((modrt.state_root() / name).string())) << phase;
  }
}

TEST_F(FsTest, GcRemovesTheDiskUpperOfAKilledRun) {
  // modrt killed outright: no rollback ran. The ledger in state.json still names the upper, and
  // `modrt gc` hands it to a fresh fs stage's rollback.
  stdfs::path sync = dir / "sync";
  stdfs::create_directories(sync);
  std::string name = unique_name("fskill");
  stdfs::path rootfs = private_rootfs(dir);
  std::string yaml =
      config(name, "echo x > /written; touch /sync/up; sleep 60",
             "{rootfs: " + rootfs.string() +
                 ", overlay: {ephemeral: disk}, mounts: [{type: bind, source: " + sync.string() +
                 ", destination: /sync}]}");
  Background run(modrt.argv({"run", "-c", write_config(yaml)}));
  ASSERT_TRUE(wait_until([&] { return stdfs::exists(sync / "up"); }, std::chrono::seconds(20)));
  stdfs::path upper = modrt.state_root() / name / "fs/upper";
  EXPECT_TRUE(stdfs::exists(upper / "written"));
  run.signal(SIGKILL);
  run.wait();
  // The workload dies with modrt (PDEATHSIG); wait until it is gone before collecting.
  ASSERT_TRUE(
      wait_until([&] { return !any_mount_mentions(upper.string()); }, std::chrono::seconds(10)));
  EXPECT_TRUE(stdfs::exists(upper)) << "nothing should have cleaned up yet";
  // The image may be gone by the time someone collects: that must not keep the upper.
  stdfs::remove_all(rootfs);
  Result gc = modrt.run({"gc"});
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  // The fs stage itself did the rollback (not only the core's removal of the state dir).
  EXPECT_EQ(gc.err.find("cannot roll back"), std::string::npos) << gc.err;
  EXPECT_EQ(gc.err.find("error"), std::string::npos) << gc.err;
  EXPECT_FALSE(stdfs::exists(modrt.state_root() / name)) << gc.err;
}

// modrt SIGKILLed right after each journal event of a run in turn (the core's test hook): the disk
// upper is recorded before it is made, so after every kill point `modrt gc` leaves nothing.
TEST_F(FsTest, KilledAtEveryJournalEventGcLeavesNoDiskUpper) {
  std::string name = unique_name("fskillat");
  std::string cfg = write_config(config(
      name, "echo x > /written", "{rootfs: " + busybox_rootfs() + ", overlay: {ephemeral: disk}}"));
  int killed = 0, with_upper = 0;
  for (int n = 1; n <= 200; ++n) {
    SCOPED_TRACE("killed at journal event " + std::to_string(n));
    std::vector<std::string> argv{"env", "MODRT_TEST_KILL_AT_EVENT=" + std::to_string(n)};
    for (auto& a : modrt.argv({"run", "-c", cfg})) argv.push_back(a);
    Result r = run(argv);
    if (r.exit_code != 128 + SIGKILL) {
      EXPECT_EQ(r.exit_code, 0) << r.err;  // past the last event: a whole run
      break;
    }
    ++killed;
    stdfs::path state = modrt.state_root() / name;
    with_upper += stdfs::exists(state / "fs");
    // The workload dies with modrt; its overlay goes with its mount namespace.
    ASSERT_TRUE(
        wait_until([&] { return !any_mount_mentions(state.string()); }, std::chrono::seconds(10)));
    Result gc = modrt.run({"gc"});
    EXPECT_EQ(gc.exit_code, 0) << gc.err;
    EXPECT_FALSE(stdfs::exists(state)) << gc.err;
  }
  std::printf("kill points: %d, with the disk upper made when killed: %d\n", killed, with_upper);
  EXPECT_GT(killed, 3);
  EXPECT_GT(with_upper, 0);
}

// A rollback that cannot remove the disk upper (the test mounted something inside it) names it;
// the run's state stays with that entry, `gc` fails naming it while the obstacle is there and
// removes it once it is gone.
TEST_F(FsTest, AnUpperRollbackCannotRemoveIsNamedKeptAndRemovedByGcLater) {
  stdfs::path sync = dir / "sync", empty = dir / "empty";
  stdfs::create_directories(sync);
  stdfs::create_directories(empty);
  std::string name = unique_name("fsstuck");
  std::string yaml = config(name, "mkdir /blocker && touch /sync/up && sleep 1",
                            "{rootfs: " + busybox_rootfs() +
                                ", overlay: {ephemeral: disk}, mounts: [{type: bind, " +
                                "source: " + sync.string() + ", destination: /sync}]}");
  Background bg(modrt.argv({"run", "-c", write_config(yaml)}));
  ASSERT_TRUE(wait_until([&] { return stdfs::exists(sync / "up"); }, std::chrono::seconds(20)));
  stdfs::path state = modrt.state_root() / name;
  stdfs::path blocker = state / "fs/upper/blocker";
  ASSERT_EQ(run({"mount", "--bind", empty.string(), blocker.string()}).exit_code, 0);
  struct Unmount {
    std::string path;
    ~Unmount() { run({"umount", path}); }
  } unmount{blocker.string()};
  Result r = bg.wait(std::chrono::seconds(30));
  EXPECT_NE(r.err.find("ephemeral overlay layers left in the ledger for `modrt gc`: remove '" +
                       (state / "fs").string() + "'"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(stdfs::exists(state / "journal"));

  Result still = modrt.run({"gc"});
  EXPECT_NE(still.exit_code, 0);
  EXPECT_NE(still.err.find((state / "fs").string()), std::string::npos) << still.err;

  ASSERT_EQ(run({"umount", blocker.string()}).exit_code, 0);
  Result gc = modrt.run({"gc"});
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_FALSE(stdfs::exists(state));
}

TEST_F(FsTest, OverlayWithExtraLowerLayers) {
  // overlay.lower stacks read-only layers above rootfs, the first listed on top.
  stdfs::path top = dir / "top", mid = dir / "mid";
  stdfs::create_directories(top / "etc");
  stdfs::create_directories(mid / "etc");
  std::ofstream(top / "etc/motd") << "top\n";
  std::ofstream(mid / "etc/motd") << "mid\n";
  std::ofstream(mid / "etc/mid-only") << "m\n";
  std::string name = unique_name("fslow");
  Result r = run_config(config(name, "cat /etc/motd /etc/mid-only; echo w > /etc/motd",
                               "{rootfs: " + busybox_rootfs() + ", overlay: {lower: [" +
                                   top.string() + ", " + mid.string() + "]}}"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "top\nm\n");
  EXPECT_EQ(slurp(top / "etc/motd"), "top\n");
}

}  // namespace
}  // namespace modrt::test::fs
