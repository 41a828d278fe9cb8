#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "interface_files.hpp"
#include "modrt/error.hpp"
#include "resources.hpp"

namespace modrt::cgroup {
namespace {

using ::testing::HasSubstr;

HostFacts facts() {
  HostFacts f;
  f.cpus = {0, 1};
  f.mems = {0};
  f.hugepage_sizes = {"2MB", "1GB"};
  return f;
}

Options parse(const std::string& yaml) {
  ConfigNode node(YAML::Load(yaml), std::make_shared<const std::string>("web.yaml"),
                  "stages[2].with");
  return parse_options(node, facts());
}

std::string error_of(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Options, HumanUnits) {
  Options o = parse(
      "{memory.max: 64M, memory.swap.max: max, cpu.max: '50%', pids.max: 64, cpu.weight: 200}");
  EXPECT_EQ(*o.resources.memory_max, 64u << 20);
  EXPECT_EQ(*o.resources.memory_swap_max, kUnlimited);
  EXPECT_EQ(o.resources.cpu_max->quota_us, 50000u);
  EXPECT_EQ(o.resources.cpu_max->period_us, 100000u);
  EXPECT_EQ(*o.resources.pids_max, 64u);
  EXPECT_EQ(o.resources.controllers(), (std::set<std::string>{"cpu", "memory", "pids"}));
  EXPECT_EQ(o.driver, DriverChoice::automatic);
}

TEST(Options, CpuMaxForms) {
  EXPECT_EQ(parse("{cpu.max: 1.5}").resources.cpu_max->quota_us, 150000u);
  auto raw = parse("{cpu.max: '20000 50000'}").resources.cpu_max;
  EXPECT_EQ(raw->quota_us, 20000u);
  EXPECT_EQ(raw->period_us, 50000u);
  EXPECT_EQ(parse("{cpu.max: max}").resources.cpu_max->quota_us, kUnlimited);
  EXPECT_THAT(error_of("{cpu.max: lots}"), HasSubstr("not a CPU share"));
  EXPECT_THAT(error_of("{cpu.max: '0.5%'}"), HasSubstr("minimum"));
}

TEST(Options, UnknownResourceSuggestsTheCloseName) {
  std::string e = error_of("{memory.mx: 64M}");
  EXPECT_THAT(e, HasSubstr("web.yaml:1:2"));
  EXPECT_THAT(e, HasSubstr("memory.mx"));
  EXPECT_THAT(e, HasSubstr("memory.max"));
}

TEST(Options, MalformedSizeNamesTheKey) {
  std::string e = error_of("{memory.max: 64Q}");
  EXPECT_THAT(e, HasSubstr("stages[2].with.memory.max"));
  EXPECT_THAT(e, HasSubstr("not a size"));
}

TEST(Options, CpusetOutsideTheHost) {
  EXPECT_EQ(*parse("{cpuset.cpus: '0-1'}").resources.cpuset_cpus, "0-1");
  EXPECT_THAT(error_of("{cpuset.cpus: '0-7'}"),
              HasSubstr("CPU 2 is not online on this host (online: 0,1)"));
  EXPECT_THAT(error_of("{cpuset.cpus: '1-0'}"), HasSubstr("not a CPU list"));
  EXPECT_THAT(error_of("{cpuset.mems: '3'}"), HasSubstr("memory node 3 is not online"));
}

TEST(Options, HugetlbOnlyForTheHostsPageSizes) {
  EXPECT_EQ(parse("{hugetlb.2MB.max: 4M}").resources.hugetlb_max.at("2MB"), 4u << 20);
  EXPECT_THAT(error_of("{hugetlb.4MB.max: 4M}"), HasSubstr("hugetlb.4MB.max"));
}

TEST(Options, StageKeys) {
  Options o = parse("{driver: v1, parent: /jobs/batch, accounting: false}");
  EXPECT_EQ(o.driver, DriverChoice::v1);
  EXPECT_EQ(o.parent, "/jobs/batch");
  EXPECT_FALSE(o.accounting);
  EXPECT_THAT(error_of("{driver: v3}"), HasSubstr("expected auto, v2 or v1"));
  EXPECT_THAT(error_of("{parent: jobs}"), HasSubstr("absolute"));
  EXPECT_THAT(error_of("{parent: /a/../b}"), HasSubstr("'..'"));
  EXPECT_THAT(error_of("{pids.max: 0}"), HasSubstr("pids.max"));
}

TEST(Options, IoDeviceMustBeABlockDevice) {
  EXPECT_THAT(error_of("{io.max: [{device: /dev/null, rbps: 1M}]}"),
              HasSubstr("not a block device"));
  EXPECT_THAT(error_of("{io.max: [{device: /nonexistent}]}"), HasSubstr("No such file"));
  EXPECT_THAT(error_of("{io.max: [{dev: /dev/null}]}"), HasSubstr("dev"));
}

TEST(Options, EmptyBlockIsFine) {
  EXPECT_TRUE(parse("").resources.controllers().empty());
  EXPECT_TRUE(parse("{}").resources.controllers().empty());
}

TEST(InterfaceFiles, V2Spelling) {
  Options o = parse("{memory.max: 32M, cpu.max: '20%', pids.max: max, hugetlb.2MB.max: 2M}");
  auto files = v2_files(o.resources);
  ASSERT_EQ(files.size(), 4u);
  EXPECT_EQ(files[0].file, "memory.max");
  EXPECT_EQ(files[0].value, "33554432");
  EXPECT_EQ(files[1].value, "20000 100000");
  EXPECT_EQ(files[2].value, "max");
  EXPECT_EQ(files[3].file, "hugetlb.2MB.max");
}

TEST(InterfaceFiles, V1SpellingAndOrder) {
  Options o = parse(
      "{memory.swap.max: 16M, memory.max: 32M, cpu.max: max, cpu.weight: 100, io.weight: 100, "
      "hugetlb.2MB.max: max}");
  auto files = v1_files(o.resources);
  std::vector<std::string> names;
  for (const auto& f : files) names.push_back(f.file + "=" + f.value);
  EXPECT_THAT(names, ::testing::ElementsAre(
                         "memory.limit_in_bytes=33554432", "memory.memsw.limit_in_bytes=50331648",
                         "cpu.cfs_period_us=100000", "cpu.cfs_quota_us=-1", "cpu.shares=1024",
                         "blkio.weight=19", "hugetlb.2MB.limit_in_bytes=-1"));
  EXPECT_EQ(files[5].alt_file, "blkio.bfq.weight");
}

TEST(InterfaceFiles, WeightConversions) {
  EXPECT_EQ(weight_to_shares(1), 10u);
  EXPECT_EQ(weight_to_shares(100), 1024u);
  EXPECT_EQ(weight_to_shares(10000), 102400u);
  EXPECT_EQ(weight_to_blkio(1), 10u);
  EXPECT_EQ(weight_to_blkio(10000), 1000u);
}

TEST(CpuList, Parsing) {
  EXPECT_EQ(*parse_cpu_list("0-2,5"), (std::set<unsigned>{0, 1, 2, 5}));
  EXPECT_FALSE(parse_cpu_list("a"));
  EXPECT_FALSE(parse_cpu_list("1,"));
  EXPECT_EQ(hugepage_size_name(2048), "2MB");
  EXPECT_EQ(hugepage_size_name(1048576), "1GB");
  EXPECT_EQ(hugepage_size_name(64), "64KB");
}

}  // namespace
}  // namespace modrt::cgroup
