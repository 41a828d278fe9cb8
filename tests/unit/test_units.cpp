#include <gtest/gtest.h>

#include "modrt/context.hpp"
#include "modrt/error.hpp"
#include "modrt/units.hpp"

namespace modrt {
namespace {

TEST(Units, Sizes) {
  EXPECT_EQ(parse_size("4096"), 4096u);
  EXPECT_EQ(parse_size("64M"), 64u << 20);
  EXPECT_EQ(parse_size("64m"), 64u << 20);
  EXPECT_EQ(parse_size("64MiB"), 64u << 20);
  EXPECT_EQ(parse_size("64MB"), 64u << 20);
  EXPECT_EQ(parse_size("1.5G"), 3u << 29);
  EXPECT_EQ(parse_size("2k"), 2048u);
  EXPECT_EQ(parse_size("10B"), 10u);
  EXPECT_FALSE(parse_size(""));
  EXPECT_FALSE(parse_size("M"));
  EXPECT_FALSE(parse_size("-1M"));
  EXPECT_FALSE(parse_size("64X"));
  EXPECT_FALSE(parse_size("64Mx"));
  EXPECT_FALSE(parse_size("1.M"));
  EXPECT_FALSE(parse_size("99999999999P"));
}

TEST(Units, Durations) {
  using namespace std::chrono_literals;
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("2s"), 2s);
  EXPECT_EQ(parse_duration("2"), 2s);
  EXPECT_EQ(parse_duration("1.5m"), 90s);
  EXPECT_EQ(parse_duration("1h"), 3600s);
  EXPECT_EQ(parse_duration("10us"), 10us);
  EXPECT_FALSE(parse_duration("2 s"));
  EXPECT_FALSE(parse_duration("fast"));
}

TEST(Units, Cpus) {
  EXPECT_DOUBLE_EQ(*parse_cpus("50%"), 0.5);
  EXPECT_DOUBLE_EQ(*parse_cpus("1.5"), 1.5);
  EXPECT_DOUBLE_EQ(*parse_cpus("200%"), 2.0);
  EXPECT_FALSE(parse_cpus("half"));
  EXPECT_FALSE(parse_cpus("50%%"));
}

TEST(Ledger, RecordAndForgetReachTheObserverFirst) {
  Ledger ledger;
  std::vector<std::string> seen;
  ledger.set_observer([&](const Ledger::Entry& e, bool recorded) {
    seen.push_back((recorded ? "+" : "-") + e.kind + " " + e.value);
  });
  ledger.record("dir", "/a");
  ledger.record("dir", "/b");
  ledger.record("link", "veth0");
  EXPECT_EQ(ledger.values("dir"), (std::vector<std::string>{"/a", "/b"}));
  EXPECT_TRUE(ledger.forget("dir", "/a"));
  EXPECT_FALSE(ledger.forget("dir", "/a"));
  EXPECT_TRUE(ledger.has("link"));
  EXPECT_FALSE(ledger.has("mount"));
  EXPECT_EQ(seen, (std::vector<std::string>{"+dir /a", "+dir /b", "+link veth0", "-dir /a"}));
}

TEST(Ledger, ARecordThatCannotBeJournaledIsNotKept) {
  Ledger ledger;
  ledger.set_observer([](const Ledger::Entry&, bool) { throw Error("journal: No space left"); });
  EXPECT_THROW(ledger.record("dir", "/a"), Error);
  EXPECT_TRUE(ledger.empty());
}

TEST(IdMaps, MapToHost) {
  std::vector<IdMapping> map{{0, 100000, 1000}, {1000, 1000, 1}};
  EXPECT_EQ(map_to_host(map, 0), 100000u);
  EXPECT_EQ(map_to_host(map, 999), 100999u);
  EXPECT_EQ(map_to_host(map, 1000), 1000u);
  EXPECT_FALSE(map_to_host(map, 1001));
}

}  // namespace
}  // namespace modrt
