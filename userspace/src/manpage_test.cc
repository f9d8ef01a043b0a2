// The man page (../egpuctl.8) must name every command and exit code.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "commands.h"

namespace egpuctl {
namespace {

std::string manpage() {
  std::ifstream in(EGPUCTL_MANPAGE);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ManPage, NamesEveryCommand) {
  const std::string man = manpage();
  ASSERT_FALSE(man.empty()) << "cannot read " << EGPUCTL_MANPAGE;
  for (const Command& c : root_command().subcommands)
    EXPECT_THAT(man, ::testing::HasSubstr(".BR " + c.name + " ")) << c.name;
}

TEST(ManPage, DocumentsPolicyApplyOffline) {
  const std::string man = manpage();
  EXPECT_THAT(man, ::testing::HasSubstr(".BR policy \" apply [\" \\-\\-offline \"]"));
  EXPECT_THAT(man, ::testing::HasSubstr(".B \\-\\-offline\n"));
}

TEST(ManPage, DocumentsEveryExitCode) {
  const std::string man = manpage();
  for (int code = 0; code <= 4; ++code)
    EXPECT_THAT(man, ::testing::HasSubstr(".TP\n.B " + std::to_string(code) + "\n")) << code;
}

}  // namespace
}  // namespace egpuctl

// egpu-gate(7) documents every key of the policy schema and every module
// parameter, and renders.
namespace egpuctl {
namespace {

TEST(ManPage7, DocumentsTheSchemaAndParameters) {
  std::ifstream in(EGPUCTL_MANPAGE7);
  std::stringstream s;
  s << in.rdbuf();
  const std::string man = s.str();
  ASSERT_FALSE(man.empty()) << "cannot read " << EGPUCTL_MANPAGE7;
  for (const char* key : {"[[tb.rule]]", ".BR uuid ", ".BR id ", ".BR vendor_name ",
                          "device_name ", ".BR parent ", ".BR action ", ".BR iommu ",
                          ".BR bind ", ".BR chain ", "[gpu.ids]", "[teardown]", ".BR budget_ms ",
                          "[reset]", ".BR auto_reset_method ", ".BR leave_d0 ", ".B tb_rules\n",
                          ".B teardown_budget_ms\n", ".B auto_reset_method\n",
                          ".B reset_leave_d0\n", ".B gpu_ids\n", "/etc/egpu-gate/policy.toml",
                          "/etc/modprobe.d/egpu-gate.conf"})
    EXPECT_THAT(man, ::testing::HasSubstr(key)) << key;
}

TEST(ManPage7, RendersWithManL) {
  if (std::system("command -v man >/dev/null 2>&1") != 0) GTEST_SKIP() << "man is not installed";
  const std::string cmd = std::string("MANWIDTH=80 man -l ") + EGPUCTL_MANPAGE7 +
                          " 2>&1 >/dev/null | grep . && exit 1; exit 0";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "man -l printed warnings for " << EGPUCTL_MANPAGE7;
}

}  // namespace
}  // namespace egpuctl
