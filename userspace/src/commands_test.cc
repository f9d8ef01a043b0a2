// egpuctl's commands against a FakeControl: output and exit codes.
#include "commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "fake_control.h"
#include "gpu_report.h"
#include "status_report.h"
#include "version.h"

namespace egpuctl {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::FakeControl;
using testing::run_egpuctl;
using testing::sample_gpus;
using testing::sample_status;

const std::string kNotLoaded =
    "egpuctl: module egpu_gate is not loaded: run `modprobe egpu_gate`\n";
const std::string kNeedsRoot =
    "egpuctl: permission denied: egpuctl needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN in the "
    "initial user namespace)\n";

TEST(StatusCommand, PrintsAlignedText) {
  FakeControl fake;
  fake.status_reply = sample_status();
  const auto r = run_egpuctl({"status"}, &fake);
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "module version:        0.1.0\n"
            "api version:           1\n"
            "kernel release:        6.1.0-27-amd64\n"
            "features:              genl, ftrace_hook\n"
            "config:\n"
            "  auto_reset_method:   1\n"
            "  teardown_budget_ms:  5000\n"
            "  reset_leave_d0:      1\n");
}

TEST(StatusCommand, MissingOptionalAttributesAreNotReported) {
  FakeControl fake;
  fake.status_reply.version = "0.2.0";
  fake.status_reply.apiVersion = 1;
  const auto r = run_egpuctl({"status"}, &fake);
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out,
            "module version:  0.2.0\n"
            "api version:     1\n"
            "kernel release:  (not reported)\n"
            "features:        (not reported)\n"
            "config:          (not reported)\n");
}

TEST(StatusCommand, UnknownFeatureBitsAreHexAndApiMismatchIsShown) {
  FakeControl fake;
  fake.status_reply = sample_status();
  fake.status_reply.apiVersion = 2;
  fake.status_reply.features = EGPU_FEATURE_GENL | (1ULL << 9) | (1ULL << 40);
  fake.status_reply.config = Config{.autoResetMethod = 0, .teardownBudgetMs = std::nullopt};
  const auto r = run_egpuctl({"status"}, &fake);
  EXPECT_THAT(r.out, HasSubstr("api version:           2 (egpuctl speaks 1)\n"));
  EXPECT_THAT(r.out, HasSubstr("features:              genl, 0x10000000200\n"));
  EXPECT_THAT(r.out, HasSubstr("  auto_reset_method:   0\n"));
  EXPECT_THAT(r.out, HasSubstr("  teardown_budget_ms:  (not reported)\n"));
  EXPECT_THAT(r.out, HasSubstr("  reset_leave_d0:      (not reported)\n"));
}

TEST(StatusCommand, NoFeatures) {
  FakeControl fake;
  fake.status_reply = sample_status();
  fake.status_reply.features = 0;
  EXPECT_THAT(run_egpuctl({"status"}, &fake).out, HasSubstr("features:              (none)\n"));
}

TEST(StatusCommand, Json) {
  FakeControl fake;
  fake.status_reply = sample_status();
  for (auto args : {std::vector<std::string>{"status", "--json"},
                    std::vector<std::string>{"--json", "status"}}) {
    const auto r = run_egpuctl(args, &fake);
    EXPECT_EQ(r.rc, 0);
    EXPECT_EQ(r.out,
              "{\n"
              "  \"module_version\": \"0.1.0\",\n"
              "  \"api_version\": 1,\n"
              "  \"kernel_release\": \"6.1.0-27-amd64\",\n"
              "  \"features\": [\n"
              "    \"genl\",\n"
              "    \"ftrace_hook\"\n"
              "  ],\n"
              "  \"feature_bits\": 3,\n"
              "  \"config\": {\n"
              "    \"auto_reset_method\": 1,\n"
              "    \"teardown_budget_ms\": 5000,\n"
              "    \"reset_leave_d0\": 1\n"
              "  }\n"
              "}\n");
  }
}

TEST(StatusCommand, JsonWithMissingAttributesHasNulls) {
  FakeControl fake;
  fake.status_reply.version = "0.1.0";
  fake.status_reply.apiVersion = 1;
  fake.status_reply.features = 1ULL << 63;
  const auto j = nlohmann::json::parse(run_egpuctl({"status", "--json"}, &fake).out);
  EXPECT_TRUE(j["kernel_release"].is_null());
  EXPECT_TRUE(j["config"].is_null());
  EXPECT_EQ(j["features"], nlohmann::json::array({"0x8000000000000000"}));
  EXPECT_EQ(j["feature_bits"].get<uint64_t>(), 1ULL << 63);
}

TEST(StatusCommand, JsonReplacesInvalidUtf8) {
  FakeControl fake;
  fake.status_reply = sample_status();
  fake.status_reply.kernelRelease = "6.1\xff";
  const auto r = run_egpuctl({"status", "--json"}, &fake);
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(nlohmann::json::parse(r.out)["kernel_release"], "6.1\xEF\xBF\xBD");
}

TEST(StatusCommand, ModuleNotLoaded) {
  FakeControl fake;
  fake.error = module_not_loaded();
  const auto r = run_egpuctl({"status"}, &fake);
  EXPECT_EQ(r.rc, 3);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, kNotLoaded);
}

TEST(StatusCommand, PermissionDenied) {
  for (int errnum : {EPERM, EACCES}) {
    FakeControl fake;
    fake.error = kernel_error("get status", errnum);
    const auto r = run_egpuctl({"status", "--json"}, &fake);
    EXPECT_EQ(r.rc, 4);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, kNeedsRoot);
  }
}

TEST(StatusCommand, OtherKernelErrorShowsStrerrorAndExtack) {
  FakeControl fake;
  fake.error = kernel_error("get status", EINVAL, "unknown attribute type 9");
  const auto r = run_egpuctl({"status"}, &fake);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "egpuctl: get status: Invalid argument (kernel: unknown attribute type 9)\n");
}

TEST(StatusCommand, HelpDoesNotTouchTheModule) {
  const auto r = run_egpuctl({"status", "--help"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_FALSE(r.connected);
  EXPECT_THAT(r.out, StartsWith("Usage: egpuctl status [OPTIONS]\n\n"));
  EXPECT_THAT(r.out, HasSubstr("  --json "));
}

TEST(VersionCommand, WithModule) {
  FakeControl fake;
  fake.status_reply = sample_status();
  const auto r = run_egpuctl({"version"}, &fake);
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, std::string("egpuctl ") + kVersion +
                       " (API 1)\negpu_gate 0.1.0 (API 1) on Linux 6.1.0-27-amd64\n");
}

TEST(VersionCommand, WithoutModuleStillSucceeds) {
  const auto r = run_egpuctl({"version"});  // no module
  EXPECT_EQ(r.rc, 0);
  EXPECT_TRUE(r.connected);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, std::string("egpuctl ") + kVersion +
                       " (API 1)\negpu_gate: unavailable: module egpu_gate is not loaded: run "
                       "`modprobe egpu_gate`\n");
}

TEST(VersionCommand, WithoutPermission) {
  FakeControl fake;
  fake.error = kernel_error("get status", EPERM);
  const auto r = run_egpuctl({"version"}, &fake);
  EXPECT_EQ(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr("egpu_gate: unavailable: permission denied: egpuctl needs root"));
}

TEST(VersionCommand, DashDashVersion) {
  FakeControl fake;
  fake.status_reply = sample_status();
  EXPECT_EQ(run_egpuctl({"--version"}, &fake).out, run_egpuctl({"version"}, &fake).out);
  EXPECT_EQ(run_egpuctl({"-V"}, &fake).rc, 0);
  EXPECT_EQ(run_egpuctl({"-V", "x"}, &fake).rc, 2);
}

TEST(VersionCommand, Json) {
  FakeControl fake;
  fake.status_reply = sample_status();
  auto j = nlohmann::json::parse(run_egpuctl({"--json", "version"}, &fake).out);
  EXPECT_EQ(j["egpuctl_version"], kVersion);
  EXPECT_EQ(j["egpuctl_api_version"], 1);
  EXPECT_EQ(j["module_version"], "0.1.0");
  EXPECT_EQ(j["api_version"], 1);
  EXPECT_EQ(j["kernel_release"], "6.1.0-27-amd64");
  EXPECT_TRUE(j["module_error"].is_null());

  j = nlohmann::json::parse(run_egpuctl({"version", "--json"}).out);
  EXPECT_EQ(j["egpuctl_version"], kVersion);
  EXPECT_TRUE(j["module_version"].is_null());
  EXPECT_TRUE(j["api_version"].is_null());
  EXPECT_TRUE(j["kernel_release"].is_null());
  EXPECT_EQ(j["module_error"], "module egpu_gate is not loaded: run `modprobe egpu_gate`");
}

TEST(VersionFromDkmsConf, LooksLikeAVersion) {
  EXPECT_THAT(std::string(kVersion), ::testing::MatchesRegex("[0-9]+\\.[0-9]+.*"));
}

TEST(HelpCommand, UsageListsEveryCommandAndExitCodes) {
  const auto r = run_egpuctl({"help"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_FALSE(r.connected);
  EXPECT_THAT(r.out, StartsWith("Usage: egpuctl [OPTIONS] COMMAND [ARGS...]\n"));
  for (const Command& c : root_command().subcommands)
    EXPECT_THAT(r.out, HasSubstr("  " + c.name + " ")) << c.name;
  EXPECT_THAT(r.out, HasSubstr("Exit status:\n"));
  EXPECT_THAT(r.out, HasSubstr("  3  module egpu_gate is not loaded\n"));
  EXPECT_EQ(run_egpuctl({"--help"}).out, r.out);
}

TEST(HelpCommand, HelpOfACommandIsItsDashDashHelp) {
  for (const Command& c : root_command().subcommands) {
    const auto a = run_egpuctl({"help", c.name});
    const auto b = run_egpuctl({c.name, "--help"});
    EXPECT_EQ(a.rc, 0) << c.name;
    EXPECT_EQ(a.out, b.out) << c.name;
    EXPECT_THAT(a.out, StartsWith("Usage: egpuctl " + c.name + " ")) << c.name;
  }
}

TEST(HelpCommand, UnknownCommand) {
  auto r = run_egpuctl({"help", "stauts"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "egpuctl: unknown command 'stauts'; did you mean 'status'?\n");
  r = run_egpuctl({"help", "status", "extra"});
  EXPECT_EQ(r.rc, 2);
}

TEST(Egpuctl, UnknownCommandSuggests) {
  const auto r = run_egpuctl({"stauts"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "egpuctl: unknown command 'stauts'; did you mean 'status'?\n");
  EXPECT_FALSE(r.connected);
}

TEST(Egpuctl, UnknownOptionOfACommand) {
  const auto r = run_egpuctl({"status", "--jsno"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "egpuctl: status: unknown option '--jsno'; did you mean '--json'?\n");
  EXPECT_FALSE(r.connected);
}

TEST(Egpuctl, NoArgumentsIsAUsageError) {
  const auto r = run_egpuctl({});
  EXPECT_EQ(r.rc, 2);
  EXPECT_THAT(r.err, StartsWith("Usage: egpuctl"));
}

TEST(FeatureNames, KnownAndUnknownBits) {
  EXPECT_EQ(feature_names(0), std::vector<std::string>{});
  EXPECT_EQ(feature_names(EGPU_FEATURE_GENL | EGPU_FEATURE_FTRACE_HOOK | EGPU_FEATURE_KUNIT),
            (std::vector<std::string>{"genl", "ftrace_hook", "kunit"}));
  EXPECT_EQ(feature_names(EGPU_FEATURE_KUNIT | 0x30),
            (std::vector<std::string>{"kunit", "0x30"}));
  EXPECT_EQ(feature_names(EGPU_FEATURE_TB_POLICY), std::vector<std::string>{"tb_policy"});
}

TEST(GpuList, Table) {
  FakeControl fake;
  fake.gpus_reply = sample_gpus();
  const auto r = run_egpuctl({"gpu", "list"}, &fake);
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "BDF           ID         FAMILY   RESET_METHOD  RESETS  FAILURES  LAST_RESULT  "
            "LAST_US  METHOD\n"
            "0000:0a:00.0  1002:687f  vega10   set           3       1         ETIMEDOUT    "
            "123456   baco\n"
            "0000:0b:00.0  1b36:0005  standin  not set       0       0         -            "
            "-        -\n");
}

TEST(GpuList, SuccessfulLastResetIsOk) {
  FakeControl fake;
  fake.gpus_reply = sample_gpus();
  fake.gpus_reply.resize(1);
  fake.gpus_reply[0].stats->lastResult = 0;
  fake.gpus_reply[0].stats->lastMethod = EGPU_RESET_METHOD_OTHER;
  const auto r = run_egpuctl({"gpu", "list"}, &fake);
  EXPECT_THAT(r.out, HasSubstr("  ok  "));
  EXPECT_THAT(r.out, HasSubstr("  other\n"));
}

TEST(GpuList, NoGpus) {
  FakeControl fake;
  const auto r = run_egpuctl({"gpu", "list"}, &fake);
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, "no GPU is handled by egpu_gate\n");
}

TEST(GpuList, Json) {
  FakeControl fake;
  fake.gpus_reply = sample_gpus();
  for (const auto& args : {std::vector<std::string>{"gpu", "list", "--json"},
                           std::vector<std::string>{"--json", "gpu", "list"}}) {
    const auto r = run_egpuctl(args, &fake);
    EXPECT_EQ(r.rc, 0);
    const auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["gpus"].size(), 2u);
    const auto& g = j["gpus"][0];
    EXPECT_EQ(g["bdf"], "0000:0a:00.0");
    EXPECT_EQ(g["id"], "1002:687f");
    EXPECT_EQ(g["vendor"], 0x1002);
    EXPECT_EQ(g["device"], 0x687f);
    EXPECT_EQ(g["family"], "vega10");
    EXPECT_EQ(g["reset_method_set"], true);
    EXPECT_EQ(g["stats"]["resets"], 3);
    EXPECT_EQ(g["stats"]["failures"], 1);
    EXPECT_EQ(g["stats"]["last_result"], -110);
    EXPECT_EQ(g["stats"]["last_result_name"], "ETIMEDOUT");
    EXPECT_EQ(g["stats"]["last_duration_us"], 123456);
    EXPECT_EQ(g["stats"]["last_method"], "baco");
    EXPECT_EQ(g["stats"]["smu_state_before"], 0x80000000u);
  }
}

TEST(GpuList, JsonNullsForWhatWasNotReported) {
  FakeControl fake;
  fake.gpus_reply = {Gpu{.bdf = "0000:01:00.0", .vendor = 1, .device = 2, .family = "f"}};
  const auto j = nlohmann::json::parse(run_egpuctl({"gpu", "list", "--json"}, &fake).out);
  EXPECT_TRUE(j["gpus"][0]["reset_method_set"].is_null());
  EXPECT_TRUE(j["gpus"][0]["stats"].is_null());
  fake.gpus_reply = {};
  EXPECT_EQ(run_egpuctl({"gpu", "list", "--json"}, &fake).out,
            "{\n  \"transport\": \"netlink\",\n  \"gpus\": []\n}\n");
}

// (without the module it lists from sysfs: gpu_sysfs_test.cc)
TEST(GpuList, PermissionDenied) {
  FakeControl fake;
  fake.error = kernel_error("list GPUs", EPERM);
  auto r = run_egpuctl({"gpu", "list"}, &fake);
  EXPECT_EQ(r.rc, 4);
  EXPECT_EQ(r.err, kNeedsRoot);
}

TEST(GpuReset, ResetsTheNormalisedAddress) {
  FakeControl fake;
  auto r = run_egpuctl({"gpu", "reset", "0000:0A:00.0"}, &fake);
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, "0000:0a:00.0: reset\n");
  r = run_egpuctl({"gpu", "reset", "04:00.0", "--force"}, &fake);
  EXPECT_EQ(r.rc, 0);
  ASSERT_EQ(fake.resets.size(), 2u);
  EXPECT_EQ(fake.resets[0], std::make_pair(std::string("0000:0a:00.0"), false));
  EXPECT_EQ(fake.resets[1], std::make_pair(std::string("0000:04:00.0"), true));
}

TEST(GpuReset, UsageErrors) {
  FakeControl fake;
  for (const auto& args : {std::vector<std::string>{"gpu", "reset"},
                           std::vector<std::string>{"gpu", "reset", "01:00"},
                           std::vector<std::string>{"gpu", "reset", "0000:01:20.0"},
                           std::vector<std::string>{"gpu", "reset", "0000:01:00.8"},
                           std::vector<std::string>{"gpu", "reset", "a", "b"},
                           std::vector<std::string>{"gpu", "reset", "--json", "01:00.0"}}) {
    const auto r = run_egpuctl(args, &fake);
    EXPECT_EQ(r.rc, 2) << args.back();
    EXPECT_THAT(r.err, StartsWith("egpuctl: ")) << args.back();
    EXPECT_FALSE(r.connected) << args.back();
  }
  EXPECT_THAT(run_egpuctl({"gpu", "reset", "01:00"}, &fake).err,
              HasSubstr("'01:00' is not a PCI address: give DOMAIN:BUS:DEVICE.FUNCTION"));
  EXPECT_TRUE(fake.resets.empty());
}

TEST(GpuReset, BusyDeviceSaysUseForce) {
  FakeControl fake;
  fake.error = kernel_error("reset GPU", EBUSY,
                            "device in use by a running VM (vfio device open); use --force");
  const auto r = run_egpuctl({"gpu", "reset", "0000:04:00.0"}, &fake);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err,
            "egpuctl: reset GPU: Device or resource busy (kernel: device in use by a running VM "
            "(vfio device open); use --force)\n");
}

TEST(GpuReset, PermissionDenied) {
  FakeControl fake;
  fake.error = kernel_error("reset GPU", EPERM);
  EXPECT_EQ(run_egpuctl({"gpu", "reset", "0000:04:00.0"}, &fake).rc, 4);
}

TEST(GpuIds, AddAndDelParseHex) {
  FakeControl fake;
  EXPECT_EQ(run_egpuctl({"gpu", "ids", "add", "1002:687F", "vega10"}, &fake).rc, 0);
  EXPECT_EQ(run_egpuctl({"gpu", "ids", "del", "0x1b36:5", "standin"}, &fake).rc, 0);
  ASSERT_EQ(fake.added.size(), 1u);
  EXPECT_EQ(fake.added[0], (GpuId{.vendor = 0x1002, .device = 0x687f, .family = "vega10"}));
  ASSERT_EQ(fake.removed.size(), 1u);
  EXPECT_EQ(fake.removed[0], (GpuId{.vendor = 0x1b36, .device = 0x0005, .family = "standin"}));
}

TEST(GpuIds, UsageErrors) {
  FakeControl fake;
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"gpu", "ids", "add"}, "give VENDOR:DEVICE and FAMILY"},
      {{"gpu", "ids", "add", "1002:687f"}, "give VENDOR:DEVICE and FAMILY"},
      {{"gpu", "ids", "add", "1002", "vega10"}, "'1002' is not a PCI ID"},
      {{"gpu", "ids", "add", "10020:1", "vega10"}, "'10020:1' is not a PCI ID"},
      {{"gpu", "ids", "del", "g002:1", "vega10"}, "'g002:1' is not a PCI ID"},
      {{"gpu", "ids", "add", "1002:1", "a-family-name-of-16"}, "is not a family name"},
      {{"gpu", "ids", "add", "1002:1", "vega 10"}, "is not a family name"},
      {{"gpu", "ids", "add", "1002:1", "vega10", "x"}, "unexpected argument 'x'"},
      {{"gpu", "ids", "rm"}, "gpu ids"},
  };
  for (const auto& [args, msg] : cases) {
    const auto r = run_egpuctl(args, &fake);
    EXPECT_EQ(r.rc, 2) << args.back();
    EXPECT_THAT(r.err, HasSubstr(msg)) << args.back();
    EXPECT_FALSE(r.connected) << args.back();
  }
  EXPECT_TRUE(fake.added.empty());
}

TEST(GpuIds, KernelErrorsCarryTheExtack) {
  FakeControl fake;
  fake.error = kernel_error("add GPU ID", ENOENT, "egpu_gate: no such family");
  auto r = run_egpuctl({"gpu", "ids", "add", "1002:687f", "vega11"}, &fake);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err,
            "egpuctl: add GPU ID: No such file or directory (kernel: egpu_gate: no such family)\n");
  fake.error = kernel_error("add GPU ID", EEXIST, "egpu_gate: the ID was already added");
  r = run_egpuctl({"gpu", "ids", "add", "1002:687f", "vega10"}, &fake);
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("File exists (kernel: egpu_gate: the ID was already added"));
}

TEST(GpuHelp, GroupUsageListsSubcommands) {
  const auto r = run_egpuctl({"help", "gpu"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr("list"));
  EXPECT_THAT(r.out, HasSubstr("reset"));
  EXPECT_THAT(r.out, HasSubstr("ids"));
  EXPECT_THAT(run_egpuctl({"gpu", "reset", "--help"}).out, HasSubstr("--force"));
  EXPECT_FALSE(r.connected);
}

TEST(ResultName, ErrnoNames) {
  EXPECT_EQ(result_name(0), "ok");
  EXPECT_EQ(result_name(-110), "ETIMEDOUT");
  EXPECT_EQ(result_name(-5), "EIO");
  EXPECT_EQ(result_name(-100000), "-100000");
  EXPECT_EQ(reset_method_name(EGPU_RESET_METHOD_MODE1), "mode1");
  EXPECT_EQ(reset_method_name(200), "200");
}

}  // namespace
}  // namespace egpuctl
