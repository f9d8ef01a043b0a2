#include "error.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace egpuctl {
namespace {

TEST(ErrorMapping, ModuleNotLoaded) {
  const Error e = module_not_loaded();
  EXPECT_EQ(e.exit_code(), 3);
  EXPECT_EQ(e.code(), ExitCode::kNotLoaded);
  EXPECT_STREQ(e.what(), "module egpu_gate is not loaded: run `modprobe egpu_gate`");
}

TEST(ErrorMapping, EpermIsPermissionDenied) {
  const Error e = kernel_error("get status", EPERM);
  EXPECT_EQ(e.exit_code(), 4);
  EXPECT_STREQ(e.what(),
               "permission denied: egpuctl needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN in the "
               "initial user namespace)");
}

TEST(ErrorMapping, EaccesIsPermissionDenied) {
  const Error e = kernel_error("set config", EACCES, "");
  EXPECT_EQ(e.exit_code(), 4);
  EXPECT_EQ(std::string(e.what()).rfind("permission denied: egpuctl needs root", 0), 0u);
}

TEST(ErrorMapping, PermissionDeniedKeepsKernelMessage) {
  const Error e = kernel_error("set config", EPERM, "needs CAP_SYS_ADMIN");
  EXPECT_EQ(e.exit_code(), 4);
  EXPECT_NE(std::string(e.what()).find("(kernel: needs CAP_SYS_ADMIN)"), std::string::npos);
}

TEST(ErrorMapping, GenericHasStrerrorAndExtack) {
  const Error e = kernel_error("set config", ERANGE, "EGPU_A_CFG_TEARDOWN_BUDGET_MS out of range");
  EXPECT_EQ(e.exit_code(), 1);
  EXPECT_STREQ(e.what(),
               "set config: Numerical result out of range "
               "(kernel: EGPU_A_CFG_TEARDOWN_BUDGET_MS out of range)");
}

TEST(ErrorMapping, GenericWithoutExtack) {
  const Error e = kernel_error("get status", EOPNOTSUPP);
  EXPECT_EQ(e.exit_code(), 1);
  EXPECT_STREQ(e.what(), "get status: Operation not supported");
}

TEST(ErrorMapping, LocalAndMalformedAndUsage) {
  EXPECT_EQ(local_error("get status", "no socket").exit_code(), 1);
  EXPECT_STREQ(local_error("get status", "no socket").what(), "get status: no socket");
  EXPECT_EQ(malformed_reply("get status", "x").exit_code(), 1);
  EXPECT_STREQ(malformed_reply("get status", "x").what(),
               "get status: malformed reply from module egpu_gate: x");
  EXPECT_EQ(usage_error("bad").exit_code(), 2);
}

TEST(ErrnoText, IsLocaleIndependentAndHandlesUnknown) {
  EXPECT_EQ(errno_text(EPERM), "Operation not permitted");
  EXPECT_EQ(errno_text(EINVAL), "Invalid argument");
  EXPECT_EQ(errno_text(99999), "error 99999");
}

TEST(ExitCodesHelp, DocumentsEveryCode) {
  const std::string help = kExitCodesHelp;
  for (const char* code : {"  0 ", "  1 ", "  2 ", "  3 ", "  4 "})
    EXPECT_NE(help.find(code), std::string::npos) << code;
}

}  // namespace
}  // namespace egpuctl
