// A directory tree that stands in for cgroupfs, with a Context whose running stage is "cgroup":
// what the unit tests of cgroup_dirs and teardown need to run real code against plain directories.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <spdlog/logger.h>

#include "modrt/context.hpp"

namespace modrt::cgroup {

class StandInCgroupfs : public ::testing::Test {
 protected:
  explicit StandInCgroupfs(const std::string& stem)
      : root_(std::filesystem::temp_directory_path() / (stem + std::to_string(::getpid()))) {}
  void SetUp() override {
    std::filesystem::create_directories(root_);
    ctx_.enter_stage(stage_, log_, ledger_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::filesystem::path root_;
  Config config_;
  Context ctx_{config_, "/run/modrt/x"};
  std::string stage_ = "cgroup";
  spdlog::logger log_{"cgroup"};
  Ledger ledger_;
};

}  // namespace modrt::cgroup
