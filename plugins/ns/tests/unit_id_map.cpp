#include <gtest/gtest.h>

#include "id_map.hpp"
#include "time_namespace.hpp"

namespace modrt::ns {
namespace {

using namespace std::chrono_literals;

TEST(NsCheckMap, AcceptsDisjointLines) {
  EXPECT_FALSE(check_map({{0, 1000, 1}, {1, 100000, 65536}}));
  EXPECT_FALSE(check_map({{0, 0, 4294967295u}}));  // the whole id space, as root's own map
}

TEST(NsCheckMap, RefusesEmptyRange) {
  auto problem = check_map({{0, 1000, 1}, {5, 2000, 0}});
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->index, 1u);
  EXPECT_NE(problem->message.find("at least 1"), std::string::npos);
}

TEST(NsCheckMap, RefusesOverlappingContainerIds) {
  auto problem = check_map({{0, 100000, 10}, {9, 200000, 5}});
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->index, 1u);
  EXPECT_NE(problem->message.find("container ids 9..13 overlap line 0"), std::string::npos)
      << problem->message;
}

TEST(NsCheckMap, RefusesOverlappingHostIds) {
  auto problem = check_map({{0, 100000, 10}, {100, 100005, 1}});
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->message.find("host ids 100005..100005 overlap line 0"), std::string::npos)
      << problem->message;
}

TEST(NsCheckMap, RefusesRangesPastTheIdSpace) {
  auto container = check_map({{4294967000u, 1000, 1000}});
  ASSERT_TRUE(container);
  EXPECT_NE(container->message.find("container ids"), std::string::npos);
  auto host = check_map({{0, 4294967290u, 10}});
  ASSERT_TRUE(host);
  EXPECT_NE(host->message.find("host ids"), std::string::npos);
}

TEST(NsCheckMap, RefusesMoreLinesThanTheKernelTakes) {
  std::vector<IdMapping> map;
  for (uint32_t i = 0; i < kMaxMapLines + 1; ++i) map.push_back({i, 1000 + i, 1});
  auto problem = check_map(map);
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->message.find("at most 340"), std::string::npos);
}

TEST(NsCovered, JoinsAdjacentRangesAndFindsHoles) {
  std::vector<IdRange> ranges{{100, 10}, {110, 10}, {200, 5}};
  EXPECT_TRUE(covered(ranges, 100, 20));
  EXPECT_TRUE(covered(ranges, 105, 10));
  EXPECT_TRUE(covered(ranges, 200, 5));
  EXPECT_FALSE(covered(ranges, 115, 10));  // runs into the hole at 120
  EXPECT_FALSE(covered(ranges, 99, 2));
  EXPECT_FALSE(covered({}, 0, 1));
}

TEST(NsParseSubid, MatchesByNameOrUidAndSkipsJunk) {
  std::string text =
      "# comment\n"
      "alice:100000:65536\n"
      "bob:165536:65536\n"
      "1001:300000:10\n"
      "alice:broken\n"
      "alice:500000:0\n"
      "alice:600000:5\n";
  auto ranges = parse_subid(text, "alice", 1001);
  ASSERT_EQ(ranges.size(), 3u);
  EXPECT_EQ(ranges[0].start, 100000u);
  EXPECT_EQ(ranges[0].count, 65536u);
  EXPECT_EQ(ranges[1].start, 300000u);
  EXPECT_EQ(ranges[2].start, 600000u);
  EXPECT_TRUE(parse_subid(text, "carol", 2000).empty());
}

TEST(NsProcMap, ParsesAndFormats) {
  auto map = parse_proc_map("         0     100000      65536\n      1000       1000          1\n");
  ASSERT_EQ(map.size(), 2u);
  EXPECT_EQ(map[0].host, 100000u);
  EXPECT_EQ(map[1].container, 1000u);
  EXPECT_EQ(format_map(map), "0 100000 65536\n1000 1000 1\n");
  EXPECT_EQ(helper_args(map),
            (std::vector<std::string>{"0", "100000", "65536", "1000", "1000", "1"}));
  EXPECT_EQ(parse_proc_map("0 0 4294967295\n")[0].size, 4294967295u);
}

TEST(NsTimeOffsets, FormatsNegativeOffsetsWithNonNegativeNanoseconds) {
  EXPECT_EQ(format_offsets({10s, 0s}), "monotonic 10 0\nboottime 0 0\n");
  EXPECT_EQ(format_offsets({-1500ms, 3600s + 250ms}),
            "monotonic -2 500000000\nboottime 3600 250000000\n");
}

}  // namespace
}  // namespace modrt::ns
