// The container's root: it is the rootfs, the host's tree is gone from view and from the mount
// table, /proc shows only the container's processes, and /dev, /sys look like a container's.
#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "fs_test.hpp"

namespace modrt::test::fs {
namespace {

namespace stdfs = std::filesystem;

std::set<std::string> entries_of(const stdfs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : stdfs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

std::set<std::string> words(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

TEST_P(FsVariantTest, RootIsTheRootfsAndTheHostIsUnreachable) {
  std::string name = unique_name("fsroot");
  Result r =
      run_config(config(name,
                        "ls -a / | grep -v '^\\.\\.*$'; echo ---; "
                        "cat /proc/self/mountinfo; echo ---; "
                        "for p in /work /run/modrt /usr/lib/x86_64-linux-gnu /etc/os-release; "
                        "do [ -e $p ] && echo reachable $p; done; true",
                        "{rootfs: " + busybox_rootfs() + ", overlay: {}}", GetParam()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto first = r.out.find("---\n");
  auto second = r.out.find("---\n", first + 4);
  ASSERT_NE(second, std::string::npos) << r.out;
  std::set<std::string> inside = words(r.out.substr(0, first));
  std::set<std::string> expected = entries_of(busybox_rootfs());
  EXPECT_EQ(inside, expected);

  std::string mountinfo = r.out.substr(first + 4, second - first - 4);
  std::vector<std::string> points = mount_points(mountinfo);
  EXPECT_EQ(std::count(points.begin(), points.end(), "/"), 1) << mountinfo;
  // Every mount point of the host beyond the few a container has itself must be gone.
  std::set<std::string> own{"/", "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"};
  for (const auto& host_point : mount_points(run({"cat", "/proc/self/mountinfo"}).out)) {
    if (own.count(host_point)) continue;
    EXPECT_EQ(std::count(points.begin(), points.end(), host_point), 0)
        << "host mount point " << host_point << " is visible inside:\n"
        << mountinfo;
  }
  // The root is the overlay, not a host file system.
  auto root_line = lines_with(mountinfo, " / / ");
  ASSERT_EQ(root_line.size(), 1u) << mountinfo;
  EXPECT_NE(root_line[0].find(" - overlay "), std::string::npos) << root_line[0];
  EXPECT_EQ(r.out.find("reachable"), std::string::npos) << r.out;
}

TEST_P(FsVariantTest, PsShowsOnlyTheContainersProcesses) {
  std::string name = unique_name("fsps");
  Result r =
      run_config(config(name, "ps -o pid,comm", "{rootfs: " + busybox_rootfs() + "}", GetParam()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  std::string header;
  std::getline(in, header);
  int count = 0;
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    int pid = 0;
    std::string comm;
    f >> pid >> comm;
    EXPECT_TRUE(comm == "ps" || comm == "sh") << line;
    EXPECT_LT(pid, 10) << line;
    ++count;
  }
  EXPECT_GE(count, 1);
  EXPECT_LE(count, 2) << r.out;
}

TEST_P(FsVariantTest, DevProcAndSysLookLikeAContainers) {
  std::string name = unique_name("fsdev");
  Result r = run_config(config(
      name,
      "head -c 4 /dev/zero | od -An -tx1; echo data > /dev/null && echo null-ok; "
      "head -c 8 /dev/urandom | wc -c; ls -l /dev/fd /dev/stdin /dev/ptmx | sed 's/.*-> //'; "
      "grep -E ' /dev/(pts|shm|mqueue) ' /proc/self/mountinfo | cut -d' ' -f5,6; "
      "touch /dev/shm/x && echo shm-ok; touch /sys/x 2>&1 || echo sys-ro; "
      "echo pid=$$; ls /dev | tr '\\n' ' '",
      "{rootfs: " + busybox_rootfs() + "}", GetParam()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(" 00 00 00 00"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("null-ok"), std::string::npos);
  EXPECT_NE(r.out.find("\n8\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/proc/self/fd\n"), std::string::npos);
  EXPECT_NE(r.out.find("/proc/self/fd/0\n"), std::string::npos);
  EXPECT_NE(r.out.find("pts/ptmx\n"), std::string::npos);
  EXPECT_NE(r.out.find("/dev/pts rw,nosuid,noexec"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/dev/shm rw,nosuid,nodev,noexec"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/dev/mqueue "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("shm-ok"), std::string::npos);
  EXPECT_NE(r.out.find("Read-only file system"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pid=1\n"), std::string::npos) << r.out;
  // Nothing of the host's /dev beyond the standard nodes.
  for (const char* host_only : {"vda", "kmsg", "mem", "console"})
    EXPECT_EQ(words(r.out.substr(r.out.find("pid=1"))).count(host_only), 0u) << r.out;
}

TEST_P(FsVariantTest, WithoutANetworkNamespaceSysIsTheHostsReadOnly) {
  // sysfs would show the mounter's network devices; sharing the host's network, the container
  // gets the host's /sys, read-only all the way down.
  std::string yaml = config(unique_name("fssys"),
                            "ls /sys/class/net | tr '\\n' ' '; echo; (touch /sys/x) 2>&1; "
                            "grep -E ' /sys(/fs/cgroup)? ' /proc/self/mountinfo | cut -d' ' -f5,6",
                            "{rootfs: " + busybox_rootfs() + "}", GetParam());
  yaml.replace(yaml.find(", net]"), 6, "]");
  Result r = run_config(yaml);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The host's links, not a private netns's lone "lo" (compared loosely: other jobs on the host
  // may add and remove links meanwhile).
  std::set<std::string> inside = words(r.out.substr(0, r.out.find('\n')));
  EXPECT_TRUE(inside.count("lo")) << r.out;
  size_t common = 0;
  for (const auto& e : stdfs::directory_iterator("/sys/class/net"))
    common += inside.count(e.path().filename().string());
  EXPECT_GE(common, 2u) << r.out;
  EXPECT_NE(r.out.find("Read-only file system"), std::string::npos) << r.out;
  for (const auto& line : lines_with(r.out, "/sys")) {
    if (line.rfind("/sys", 0) == 0) {
      EXPECT_NE(line.find(" ro,"), std::string::npos) << line;
    }
  }
}

TEST_P(FsVariantTest, WithoutANetworkNamespaceTheCgroupViewIsTheContainersOwn) {
  // The host's /sys carries every cgroup hierarchy of the host at /sys/fs/cgroup (its services,
  // sibling containers); with a cgroup namespace the container sees only its own subtree there.
  std::string yaml = config(unique_name("fscg"),
                            "ls /sys/fs/cgroup | tr '\\n' ' '; echo; "
                            "grep ' /sys/fs/cgroup ' /proc/self/mountinfo | sed 's/.* - //' | "
                            "cut -d' ' -f1",
                            "{rootfs: " + busybox_rootfs() + "}", GetParam());
  yaml.replace(yaml.find(", net]"), 6, ", cgroup]");
  Result r = run_config(yaml);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> inside = words(r.out.substr(0, r.out.find('\n')));
  EXPECT_TRUE(inside.count("cgroup.procs")) << r.out;  // a cgroup2 directory: the container's own
  for (const char* host_only : {"memory", "cpu", "pids", "unified", "systemd"})
    EXPECT_EQ(inside.count(host_only), 0u) << host_only << " visible: " << r.out;
  EXPECT_EQ(lines_with(r.out, "cgroup2").size(), 1u) << r.out;  // mounted over the host's tree
}

TEST_F(FsTest, NothingPropagatesBackWhenTheHostRootIsShared) {
  // Many hosts (systemd) have a shared "/": a mount namespace cloned from it starts as a peer, and
  // every mount the container made would appear on the host. modrt runs here inside a private
  // mount namespace whose "/" is shared, playing that host; while the container is up, that
  // namespace must still show exactly its own mounts.
  stdfs::path sync = dir / "sync";
  stdfs::create_directories(sync);
  std::string yaml = config(unique_name("fsprop"),
                            "touch /sync/up; i=0; while [ ! -e /sync/done ] && [ $i -lt 600 ]; "
                            "do sleep 0.05; i=$((i+1)); done",
                            "{rootfs: " + busybox_rootfs() +
                                ", overlay: {}, mounts: [{type: bind, source: " + sync.string() +
                                ", destination: /sync}, {type: tmpfs, destination: /tmp}]}");
  std::vector<std::string> argv{"unshare", "-m", "--propagation", "shared", "--"};
  for (auto& a : modrt.argv({"run", "-c", write_config(yaml)})) argv.push_back(a);
  Background host(argv);
  ASSERT_TRUE(wait_until([&] { return stdfs::exists(sync / "up"); }, std::chrono::seconds(20)));
  std::ifstream in("/proc/" + std::to_string(host.pid()) + "/mountinfo");
  std::stringstream during;
  during << in.rdbuf();
  std::ofstream(sync / "done") << "";
  Result r = host.wait();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> seen = mount_points(during.str());
  std::vector<std::string> own = mount_points(run({"cat", "/proc/self/mountinfo"}).out);
  std::sort(seen.begin(), seen.end());
  std::sort(own.begin(), own.end());
  EXPECT_EQ(seen, own) << during.str();
}

TEST_F(FsTest, UserNamespaceSeesTheImageOwnedByItsRoot) {
  // With container 0 = host 100000, the image (owned by host root) is shown through an idmapped
  // mount: its files belong to the container's root, who can change them (copy-up works), and
  // what lands in the upper belongs to host 100000.
  stdfs::path upper = dir / "upper";
  std::string name = unique_name("fsuid");
  Result r =
      run_config(config(name,
                        "stat -c '%u:%g %n' / /etc/passwd /bin/busybox; "
                        "echo changed >> /etc/passwd && echo new > /etc/new && id -u",
                        "{rootfs: " + busybox_rootfs() + ", overlay: {upper: " + upper.string() +
                            ", work: " + (dir / "work").string() + "}}",
                        Variant::userns));
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("0:0 /etc/passwd"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0:0 /bin/busybox"), std::string::npos) << r.out;
  struct stat st {};
  ASSERT_EQ(::stat((upper / "etc/new").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 100000u);
  ASSERT_EQ(::stat((upper / "etc/passwd").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 100000u);  // the copy-up took the idmapped owner
}

TEST_F(FsTest, UserNamespaceWithoutIdmapSeesNobody) {
  // The failure case beside it: without idmapping, host root is unmapped, the image shows as
  // nobody, and the container's root may not write into the image's directories.
  std::string name = unique_name("fsnoid");
  Result r = run_config(config(name,
                               "stat -c '%u %n' /etc/passwd; (echo x > /etc/new) 2>&1; "
                               "(echo x >> /etc/passwd) 2>&1; echo ok > /tmp/t && cat /tmp/t",
                               "{rootfs: " + busybox_rootfs() + ", overlay: {}, idmap: false}",
                               Variant::userns));
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("65534 /etc/passwd"), std::string::npos) << r.out;
  EXPECT_EQ(lines_with(r.out, "Permission denied").size(), 2u) << r.out;
  EXPECT_NE(r.out.find("\nok\n"), std::string::npos) << r.out;  // /tmp is 1777
}

TEST_F(FsTest, MissingRootfsIsAConfigError) {
  std::string yaml =
      config(unique_name("fsmiss"), "true", "{rootfs: " + (dir / "nope").string() + "}");
  std::string file = write_config(yaml);
  Result v = modrt.run({"validate", "-c", file});
  EXPECT_EQ(v.exit_code, 2);
  EXPECT_NE(v.err.find("stages[1].with.rootfs"), std::string::npos) << v.err;
  EXPECT_NE(v.err.find("No such file or directory"), std::string::npos) << v.err;
  Result r = modrt.run({"run", "-c", file});
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST_F(FsTest, WithoutAMountNamespaceTheConfigIsRefused) {
  std::string yaml = "name: " + unique_name("fsnomnt") +
                     "\nprocess: {args: [/bin/true]}\nstages:\n"
                     "  - plugin: ns\n    with: {namespaces: [pid]}\n"
                     "  - plugin: fs\n    with: {rootfs: " +
                     busybox_rootfs() + "}\n";
  Result v = modrt.run({"validate", "-c", write_config(yaml)});
  EXPECT_EQ(v.exit_code, 2);
  EXPECT_NE(v.err.find("needs the mount namespace"), std::string::npos) << v.err;
}

}  // namespace
}  // namespace modrt::test::fs
