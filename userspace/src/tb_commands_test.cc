// tb list/authorize/deauthorize, shutdown-plan and monitor against
// FakeControl, FakeDeviceControl and fake sysfs trees.
#include "tb_commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "fake_system.h"

namespace egpuctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using testing::FakeControl;
using testing::FakeSystem;
using testing::HostFixture;
using testing::run_egpuctl;
using testing::runbook_tb_devices;
using testing::tb_status;

const std::string kFallback =
    "egpuctl: module egpu_gate is not loaded: using sysfs (/fake/sys): no rules, decisions or "
    "teardown plan\n";

struct TbTest : ::testing::Test {
  // The module with the Thunderbolt policy, on the runbook's host.
  void with_module(bool authorized = true) {
    fake.status_reply = tb_status();
    sys.devices.devices = runbook_tb_devices(authorized);
    module = &fake;
  }
  testing::CliRun run(std::vector<std::string> args) {
    return run_egpuctl(std::move(args), module, sys.setup());
  }
  FakeControl fake;
  FakeControl* module = nullptr;  // null: not loaded
  FakeSystem sys;
};

TEST_F(TbTest, ListFromSysfsWithoutTheModule) {
  HostFixture(sys).runbook_host(false);
  const auto r = run({"tb", "list"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.err, kFallback);
  EXPECT_EQ(r.out,
            "DEVICE  ID         NAME                        AUTHORIZED  SECURITY  IOMMU  UUID\n"
            "0-0     8086:7eb2  Intel Meteor Lake           host        user      yes    "
            "c1e1a000-0000-0000-0000-000000000000\n"
            "1-0     8086:7eb2  Intel Meteor Lake           host        user      yes    "
            "c1e1a000-0000-0000-0000-000000000001\n"
            "1-1     0004:a153  Blackmagic Design eGPU Pro  0           user      yes    "
            "d1e2a3b4-0000-0000-0000-000000000001\n");
}

TEST_F(TbTest, ListJsonSaysTheTransport) {
  HostFixture(sys).runbook_host(false);
  auto r = run({"tb", "list", "--json"});
  EXPECT_EQ(r.rc, 0);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["transport"], "sysfs");
  ASSERT_EQ(j["devices"].size(), 3u);
  EXPECT_EQ(j["devices"][2]["name"], "1-1");
  EXPECT_EQ(j["devices"][2]["parent"], "1-0");
  EXPECT_EQ(j["devices"][2]["id"], "0004:a153");
  EXPECT_EQ(j["devices"][2]["authorized"], 0);
  EXPECT_TRUE(j["devices"][2]["decision"].is_null());
  EXPECT_TRUE(j["devices"][2]["rule_id"].is_null());

  with_module();
  r = run({"--json", "tb", "list"});
  EXPECT_EQ(r.err, "");
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["transport"], "netlink");
  const auto& e = j["devices"][2];
  EXPECT_EQ(e["rule_id"], 1);
  EXPECT_EQ(e["decision"], "authorized");
  EXPECT_EQ(e["reason"], "rule 1");
  EXPECT_EQ(e["by_egpu"], true);
  EXPECT_EQ(e["pci"], nlohmann::json({"0000:2c:00.0", "0000:30:00.0", "0000:30:00.1"}));
  EXPECT_EQ(e["iommu_dma_protection"], true);
}

TEST_F(TbTest, ListWithTheModuleShowsDecisions) {
  with_module();
  const auto r = run({"tb", "list"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(r.out, HasSubstr("RULE  DECISION     REASON\n"));
  EXPECT_THAT(r.out, HasSubstr("1     authorized*  rule 1\n"));
  EXPECT_THAT(r.out, HasSubstr("-     host         host router\n"));
  EXPECT_THAT(r.out, HasSubstr("* authorized by egpu-gate"));
}

TEST_F(TbTest, ListTree) {
  with_module();
  const auto r = run({"tb", "list", "--tree"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out,
            "domain0  security=user  iommu_dma_protection=yes  deauthorization=yes\n"
            "`-- 0-0  8086:7eb2  Intel Meteor Lake  uuid=c1e1a000-0000-0000-0000-000000000000  "
            "decision=host (host router)\n"
            "domain1  security=user  iommu_dma_protection=yes  deauthorization=yes\n"
            "`-- 1-0  8086:7eb2  Intel Meteor Lake  uuid=c1e1a000-0000-0000-0000-000000000001  "
            "decision=host (host router)\n"
            "    `-- 1-1  0004:a153  Blackmagic Design eGPU Pro  authorized=1  "
            "uuid=d1e2a3b4-0000-0000-0000-000000000001  decision=authorized  rule=1  "
            "by-egpu-gate (rule 1)\n"
            "        |-- pci 0000:2c:00.0\n"
            "        |-- pci 0000:30:00.0\n"
            "        `-- pci 0000:30:00.1\n");
}

TEST_F(TbTest, ListShowsFailedAttempts) {
  with_module(false);
  TbDevice& e = sys.devices.devices[2];
  e.decision = EGPU_TB_DECISION_FAILED;
  e.reason = "authorization failed (attempt 2 of 4): busy; next attempt in 2000 ms";
  e.authFailures = 2;
  e.authError = -EBUSY;
  e.authRetryMs = 1500;
  sys.devices.devices[0].authFailures = 0;
  auto r = run({"tb", "list", "--tree"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr("decision=failed  rule=1  failures=2/4 last=EBUSY retry-in=1500ms "
                               "(authorization failed (attempt 2 of 4)"));
  EXPECT_THAT(r.out, Not(HasSubstr("failures=0")));
  r = run({"tb", "list", "--json"});
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["devices"][2]["auth_failures"], 2);
  EXPECT_EQ(j["devices"][2]["auth_error"], "EBUSY");
  EXPECT_EQ(j["devices"][2]["auth_errno"], -EBUSY);
  EXPECT_EQ(j["devices"][2]["auth_retry_ms"], 1500);
  EXPECT_EQ(j["devices"][0]["auth_failures"], 0);
  EXPECT_TRUE(j["devices"][0]["auth_error"].is_null());
  EXPECT_TRUE(j["devices"][1]["auth_failures"].is_null());  // not reported
  EXPECT_TRUE(j["devices"][2]["reason"].get<std::string>().starts_with("authorization failed"));
}

TEST_F(TbTest, ListEmpty) {
  const auto r = run({"tb", "list"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr("no Thunderbolt device"));
}

TEST_F(TbTest, ModuleWithoutTbPolicyFallsBackToSysfs) {
  HostFixture(sys).runbook_host(false);
  fake.status_reply = testing::sample_status();
  module = &fake;
  const auto r = run({"tb", "list"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_THAT(r.err, HasSubstr("has no Thunderbolt policy (feature tb_policy): using sysfs"));
}

TEST_F(TbTest, PermissionErrorDoesNotFallBack) {
  fake.error = kernel_error("get status", EPERM);
  module = &fake;
  const auto r = run({"tb", "list"});
  EXPECT_EQ(r.rc, 4);
}

TEST_F(TbTest, AuthorizeByNameOrUuidThroughTheModule) {
  with_module(false);
  auto r = run({"tb", "authorize", "1-1"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, "1-1: authorized (netlink)\n");
  r = run({"tb", "authorize", "D1E2A3B4-0000-0000-0000-000000000001"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_THAT(sys.devices.authorized, ElementsAre("1-1", "1-1"));
  r = run({"tb", "deauthorize", "1-1"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, "1-1: de-authorized (netlink)\n");
  EXPECT_THAT(sys.devices.deauthorized, ElementsAre("1-1"));
  EXPECT_TRUE(sys.sysfs.writes.empty());
}

TEST_F(TbTest, AuthorizeThroughSysfs) {
  HostFixture(sys).runbook_host(false);
  auto r = run({"tb", "authorize", "1-1"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.err, kFallback);
  EXPECT_EQ(r.out, "1-1: authorized (sysfs)\n");
  EXPECT_THAT(sys.sysfs.writes, ElementsAre(Pair("/bus/thunderbolt/devices/1-1/authorized", "1")));
  r = run({"tb", "deauthorize", "1-1"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_THAT(sys.sysfs.writes.back(), Pair("/bus/thunderbolt/devices/1-1/authorized", "0"));
}

TEST_F(TbTest, AuthorizeErrors) {
  with_module();
  auto r = run({"tb", "authorize"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_THAT(r.err, HasSubstr("give the device's name or UUID"));
  r = run({"tb", "authorize", "0-7"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err,
            "egpuctl: no Thunderbolt device '0-7' (present: 0-0, 1-0, 1-1); give a name from "
            "'egpuctl tb list' or a UUID\n");
  sys.devices.error = kernel_error("authorize Thunderbolt device", EOPNOTSUPP,
                                   "security level dponly");
  r = run({"tb", "authorize", "1-1"});
  EXPECT_EQ(r.rc, 1);
  r = run({"tb", "authorize", "--json", "1-1"});
  EXPECT_EQ(r.rc, 2);
}

TEST_F(TbTest, ShutdownPlan) {
  with_module();
  sys.devices.plan = {
      {.index = 0, .action = EGPU_STEP_UNBIND, .target = "0000:30:00.1", .tb = "1-1"},
      {.index = 1, .action = EGPU_STEP_UNBIND, .target = "0000:30:00.0", .tb = "1-1"},
      {.index = 2, .action = EGPU_STEP_REMOVE, .target = "0000:2c:00.0", .tb = "1-1"},
      {.index = 3, .action = EGPU_STEP_DEAUTHORIZE, .target = "1-1", .tb = "1-1"},
      {.index = 4, .action = EGPU_STEP_SKIP, .target = "0-1", .note = "not authorized by egpu-gate"},
  };
  auto r = run({"shutdown-plan"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out,
            "STEP  ACTION       TARGET        DEVICE  NOTE\n"
            "1.    unbind       0000:30:00.1  1-1\n"
            "2.    unbind       0000:30:00.0  1-1\n"
            "3.    remove       0000:2c:00.0  1-1\n"
            "4.    deauthorize  1-1           1-1\n"
            "5.    skip         0-1           -       not authorized by egpu-gate\n");
  r = run({"shutdown-plan", "--json"});
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["steps"][3]["action"], "deauthorize");
  EXPECT_EQ(j["steps"][4]["note"], "not authorized by egpu-gate");
  EXPECT_TRUE(j["steps"][0]["note"].is_null());
  sys.devices.plan.clear();
  r = run({"shutdown-plan"});
  EXPECT_THAT(r.out, HasSubstr("nothing to tear down"));
}

TEST_F(TbTest, ShutdownPlanNeedsTheModule) {
  const auto r = run({"shutdown-plan"});
  EXPECT_EQ(r.rc, 3);
  EXPECT_THAT(r.err, HasSubstr("teardown plan comes from module egpu_gate"));
}

TEST_F(TbTest, MonitorCountText) {
  sys.events = {{{.type = EGPU_EVENT_TB_SEEN, .timeNs = 5123456789ULL, .tb = "1-1",
                  .uniqueId = "d1e2"}},
                {{.type = EGPU_EVENT_TB_AUTHORIZED, .tb = "1-1", .ruleId = 1,
                  .message = "rule 1"},
                 {.type = EGPU_EVENT_TEARDOWN_STEP, .bdf = "0000:30:00.0", .error = -110,
                  .durationUs = 2000}}};
  const auto r = run({"monitor", "--count", "3"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_TRUE(sys.subscribed);
  EXPECT_EQ(r.out,
            "[    5.123456] tb_seen 1-1 uuid=d1e2\n"
            "tb_authorized 1-1 rule=1: rule 1\n"
            "teardown_step 0000:30:00.0 error=ETIMEDOUT duration_us=2000\n");
}

TEST_F(TbTest, MonitorJsonLines) {
  sys.events = {{{.type = EGPU_EVENT_GPU_RESET, .bdf = "0000:30:00.0", .error = 0}},
                {{.type = EGPU_EVENT_ERROR, .message = "bad \xff byte"}}};
  const auto r = run({"monitor", "--json", "--count", "2"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.err, "");
  std::istringstream lines(r.out);
  std::string l1, l2;
  std::getline(lines, l1);
  std::getline(lines, l2);
  EXPECT_EQ(nlohmann::json::parse(l1)["type"], "gpu_reset");
  EXPECT_EQ(nlohmann::json::parse(l1)["error_name"], "ok");
  EXPECT_EQ(nlohmann::json::parse(l2)["message"], "bad \xef\xbf\xbd byte");
}

TEST_F(TbTest, MonitorTimeout) {
  sys.events = {{{.type = EGPU_EVENT_TB_GONE, .tb = "1-1"}}};
  auto r = run({"monitor", "--timeout", "0.3"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, "tb_gone 1-1\n");
  r = run({"monitor", "--timeout", "0.2", "--count", "2"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("0 of 2 events within 0.2 s"));
}

TEST_F(TbTest, MonitorWithoutTheModule) {
  sys.events_error = module_not_loaded();
  const auto r = run({"monitor", "--count", "1"});
  EXPECT_EQ(r.rc, 3);
}

TEST(SysfsRootOption, ReadsTheGivenTree) {
  char tmpl[] = "/tmp/egpuctl-sysfs-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  std::filesystem::create_directories(root + "/bus/thunderbolt/devices/0-1");
  std::filesystem::create_directories(root + "/bus/thunderbolt/devices/domain0");
  std::ofstream(root + "/bus/thunderbolt/devices/domain0/security") << "user\n";
  std::ofstream(root + "/bus/thunderbolt/devices/0-1/authorized") << "0\n";
  std::ofstream(root + "/bus/thunderbolt/devices/0-1/device_name") << "eGPU Pro\n";
  auto r = run_egpuctl({"--sysfs-root", root, "tb", "authorize", "0-1"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("using sysfs (" + root + ")"));
  std::ifstream in(root + "/bus/thunderbolt/devices/0-1/authorized");
  std::string v;
  in >> v;
  EXPECT_EQ(v, "1");
  r = run_egpuctl({"--sysfs-root=" + root, "--json", "tb", "list"});
  EXPECT_EQ(nlohmann::json::parse(r.out)["devices"][0]["device_name"], "eGPU Pro");
  r = run_egpuctl({"--sysfs-root"});
  EXPECT_EQ(r.rc, 2);
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace egpuctl
