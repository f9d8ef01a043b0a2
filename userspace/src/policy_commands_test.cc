// policy show/check/apply and tb rules/allow/deny against FakeControl and
// an in-memory file system.
#include "policy_commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <sstream>

#include <nlohmann/json.hpp>

#include "egpu_gate.h"
#include "fake_control.h"
#include "fake_system.h"
#include "policy_toml.h"

namespace egpuctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::FakeControl;
using testing::FakeCommandRunner;
using testing::FakeFileTree;
using testing::FakeSystem;
using testing::run_egpuctl;

constexpr char kUuid[] = "d1e2a3b4-0000-0000-0000-000000000001";
constexpr char kParentUuid[] = "d1e2a3b4-0000-0000-0000-000000000000";
const std::string kPolicy = "/etc/egpu-gate/policy.toml";
const std::string kInitramfs = "update-initramfs -u -k all";
const std::string kConf = "/etc/modprobe.d/egpu-gate.conf";

class PolicyCli : public ::testing::Test {
 protected:
  void SetUp() override {
    runner.results[kInitramfs] = RunResult{0, ""};  // installed, succeeds
    control.status_reply = testing::sample_status();
    control.status_reply.features = *control.status_reply.features | EGPU_FEATURE_TB_POLICY;
    control.tb_devices = {
        TbDeviceInfo{.name = "0-0", .uniqueId = kParentUuid, .vendor = 0x8086, .device = 0x9a1b},
        TbDeviceInfo{.name = "0-1",
                     .parent = "0-0",
                     .uniqueId = "D1E2A3B4-0000-0000-0000-000000000001",
                     .vendor = 0x8086,
                     .device = 0x15d3,
                     .vendorName = "Razer",
                     .deviceName = "Core X",
                     .authorized = 0},
    };
  }
  testing::CliRun run(std::vector<std::string> args) {
    return run_egpuctl(std::move(args), &control, sys.setup());
  }
  Policy file_policy() { return parse_policy(fs.files.at(kPolicy), kPolicy); }
  std::vector<std::string> live_texts() {
    std::vector<std::string> t;
    for (const TbRuleEntry& r : control.rules) t.push_back(r.text);
    return t;
  }
  FakeControl control;
  FakeSystem sys;  // the host's files and programs
  FakeFileTree& fs = sys.files;
  FakeCommandRunner& runner = sys.runner;
};

// --- policy check -------------------------------------------------------------

TEST_F(PolicyCli, CheckValid) {
  fs.files[kPolicy] = "[[tb.rule]]\nuuid = \"" + std::string(kUuid) + "\"\n";
  const auto r = run({"policy", "check"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, kPolicy + ": valid: 1 Thunderbolt rule, 0 GPU IDs\n  rule 1: uuid=" + kUuid +
                       "\n");
  EXPECT_FALSE(r.connected);  // no module needed
}

TEST_F(PolicyCli, CheckPointsAtEveryProblem) {
  fs.files["my.toml"] = "[[tb.rule]]\nuuid = \"x\"\n[teardown]\nbudget_ms = 5\n";
  const auto r = run({"policy", "check", "my.toml"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("my.toml:2:8: tb.rule #1: uuid: 'x' is not a UUID"));
  EXPECT_THAT(r.err, HasSubstr("my.toml:4:13: teardown.budget_ms: 5 is out of range"));
  EXPECT_THAT(r.err, HasSubstr("egpuctl: my.toml: 2 problems: nothing applied\n"));
}

TEST_F(PolicyCli, CheckJson) {
  fs.files["my.toml"] = "[reset]\nleave_d0 = 1\n";
  auto r = run({"policy", "check", "--json", "my.toml"});
  EXPECT_EQ(r.rc, 1);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["valid"], false);
  EXPECT_EQ(j["problems"][0]["line"], 2);
  EXPECT_EQ(j["problems"][0]["field"], "reset.leave_d0");
  fs.files["my.toml"] = "";
  r = run({"policy", "check", "--json", "my.toml"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(nlohmann::json::parse(r.out)["valid"], true);
}

TEST_F(PolicyCli, CheckMissingFiles) {
  auto r = run({"policy", "check"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr("no such file: no rules (default deny)"));
  r = run({"policy", "check", "nope.toml"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "egpuctl: nope.toml does not exist\n");
}

// --- policy apply -------------------------------------------------------------

TEST_F(PolicyCli, ApplyTheDefaultFile) {
  fs.files[kPolicy] = "[[tb.rule]]\nid = \"1:2\"\n[teardown]\nbudget_ms = 700\n";
  const auto r = run({"policy", "apply"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(live_texts(), std::vector<std::string>{"id=0001:0002"});
  EXPECT_EQ(control.status_reply.config->teardownBudgetMs, 700u);
  EXPECT_THAT(fs.files[kConf], HasSubstr("options egpu_gate tb_rules=\"id=0001:0002\" "
                                         "teardown_budget_ms=700\n"));
  EXPECT_EQ(runner.calls.size(), 1u);
  EXPECT_THAT(r.out, HasSubstr("applied /etc/egpu-gate/policy.toml: 1 Thunderbolt rule, 0 GPU IDs"));
  EXPECT_EQ(fs.replaced, std::vector<std::string>{kConf});  // policy.toml untouched
}

TEST_F(PolicyCli, ApplyAnotherFileInstallsIt) {
  fs.files["/tmp/test.toml"] = "[[tb.rule]]\nid = \"1:2\"\n";
  const auto r = run({"policy", "apply", "--no-initramfs", "/tmp/test.toml"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(fs.files[kPolicy], fs.files["/tmp/test.toml"]);
  EXPECT_TRUE(runner.calls.empty());
}

// --offline (chroots, installers): the files and the initramfs, and never the
// module: no connection is even attempted, /sys is never used.
TEST_F(PolicyCli, ApplyOfflineWritesFilesAndInitramfsOnly) {
  fs.files[kPolicy] = "[[tb.rule]]\nid = \"1:2\"\n[teardown]\nbudget_ms = 4321\n";
  runner.results[kInitramfs] =
      RunResult{0, "update-initramfs: Generating /boot/initrd.img-6.1.0-28-amd64\n"};
  const auto r = run({"policy", "apply", "--offline"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_FALSE(r.connected);
  EXPECT_TRUE(control.rule_sets.empty());
  EXPECT_TRUE(control.changes.empty());
  EXPECT_THAT(fs.files[kConf], HasSubstr("\noptions egpu_gate tb_rules=\"id=0001:0002\" "
                                         "teardown_budget_ms=4321\n"));
  EXPECT_EQ(runner.calls, std::vector<std::string>{kInitramfs});
  EXPECT_TRUE(sys.sysfs.writes.empty());
  EXPECT_TRUE(sys.sysfs.replaced.empty());
  EXPECT_EQ(r.out,
            "[1/2] write /etc/modprobe.d/egpu-gate.conf: done\n"
            "[2/2] update the initramfs (update-initramfs -u -k all): done "
            "(/boot/initrd.img-6.1.0-28-amd64)\n"
            "note: offline (--offline): module egpu_gate was not contacted and nothing live "
            "changed; the policy takes effect at the next boot (or the next load of the "
            "module); to apply it now, run `egpuctl policy apply` without --offline\n"
            "written /etc/egpu-gate/policy.toml: 1 Thunderbolt rule, 0 GPU IDs (offline: for "
            "the next boot, nothing live)\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(PolicyCli, ApplyOfflineInstallsAnotherFileWithoutInitramfs) {
  fs.files["/tmp/test.toml"] = "[[tb.rule]]\nid = \"1:2\"\n";
  const auto r = run({"policy", "apply", "--offline", "--no-initramfs", "/tmp/test.toml"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_FALSE(r.connected);
  EXPECT_EQ(fs.files[kPolicy], fs.files["/tmp/test.toml"]);
  EXPECT_TRUE(fs.files.count(kConf));
  EXPECT_TRUE(runner.calls.empty());
  EXPECT_THAT(r.out, HasSubstr("note: initramfs not updated (--no-initramfs)"));
}

TEST_F(PolicyCli, ApplyOfflineInvalidChangesNothing) {
  fs.files[kPolicy] = "[[tb.rule]]\n";
  const auto r = run({"policy", "apply", "--offline"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_FALSE(r.connected);
  EXPECT_TRUE(fs.replaced.empty());
  EXPECT_TRUE(runner.calls.empty());
}

// The guard under --offline: whatever asks for the module or /sys gets an
// internal error and nothing is connected or touched.
TEST(ForbidLive, StopsEveryLivePath) {
  FakeSystem sys;
  sys.sysfs.file("/fake/sys/module/egpu_gate/version", "0.4.0\n");
  std::ostringstream out, err;
  bool connected = false;
  Context ctx(out, err, [&]() -> std::unique_ptr<Control> {
    connected = true;
    return std::make_unique<FakeControl>();
  });
  sys.setup()(ctx);
  (void)ctx.system();  // made before the switch: wrapped too
  ctx.forbid_live("policy apply --offline");
  try {
    ctx.control();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kFailure);
    EXPECT_THAT(e.what(), HasSubstr("internal error: policy apply --offline must not contact "
                                    "module egpu_gate; stopped before doing it"));
  }
  EXPECT_THROW(ctx.devices(), Error);
  EXPECT_THROW(ctx.system().sysfs(), Error);
  EXPECT_THROW(ctx.system().netlinkDevices(), Error);
  EXPECT_THROW(ctx.system().events(), Error);
  EXPECT_FALSE(connected);
  EXPECT_FALSE(sys.subscribed);
  // Files and programs still work.
  sys.files.file("/etc/x", "y");
  EXPECT_EQ(ctx.system().files().read_file("/etc/x"), "y");
  sys.runner.results["true"] = RunResult{0, ""};
  EXPECT_EQ(ctx.system().runner().run({"true"}, std::chrono::seconds(1)).status, 0);
}

TEST(ForbidLive, AppliesToASystemMadeLater) {
  FakeSystem sys;
  std::ostringstream out, err;
  Context ctx(out, err, []() -> std::unique_ptr<Control> { return nullptr; });
  sys.setup()(ctx);
  ctx.forbid_live("policy apply --offline");
  EXPECT_THROW(ctx.system().sysfs(), Error);
}

TEST_F(PolicyCli, ApplyWithRoot) {
  fs.files["/tree/etc/egpu-gate/policy.toml"] = "";
  const auto r = run({"policy", "apply", "--root", "/tree"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(fs.files.count("/tree/etc/modprobe.d/egpu-gate.conf"));
  EXPECT_TRUE(runner.calls.empty());
}

TEST_F(PolicyCli, ApplyInvalidChangesNothing) {
  fs.files[kPolicy] = "[[tb.rule]]\n";
  const auto r = run({"policy", "apply"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("egpuctl: /etc/egpu-gate/policy.toml:1:1: tb.rule #1: no match key"));
  EXPECT_TRUE(fs.replaced.empty());
  EXPECT_TRUE(control.rule_sets.empty());
}

TEST_F(PolicyCli, ApplyFailureSaysWhatIsInForce) {
  fs.files[kPolicy] = "";
  runner.results[kInitramfs] = RunResult{2, "no space\n"};
  const auto r = run({"policy", "apply"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("egpuctl: policy not applied: step 4/4 (update the initramfs"));
  EXPECT_THAT(r.err, HasSubstr("in force now: the previous policy"));
  EXPECT_FALSE(fs.files.count(kConf));
}

TEST_F(PolicyCli, UnreadablePolicyFileIsAnError) {
  fs.files[kPolicy] = "";
  fs.read_errors[kPolicy] = EACCES;
  const auto r = run({"policy", "check"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("cannot read /etc/egpu-gate/policy.toml: Permission denied"));
  EXPECT_TRUE(fs.replaced.empty());
}

// --- policy show --------------------------------------------------------------

TEST_F(PolicyCli, ShowInSync) {
  fs.files[kPolicy] = "[[tb.rule]]\nid = \"1:2\"\n";
  ASSERT_EQ(run({"policy", "apply"}).rc, 0);
  const auto r = run({"policy", "show"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("modprobe.d:  /etc/modprobe.d/egpu-gate.conf (up to date)\n"));
  EXPECT_THAT(r.out, HasSubstr("file rules (1):\n  1. id=0001:0002\n"));
  EXPECT_THAT(r.out, HasSubstr("live rules (1):\n  id 1: id=0001:0002 (hits 0)\n"));
  EXPECT_THAT(r.out, HasSubstr("differences: none: the policy file is in force\n"));
  auto j = nlohmann::json::parse(run({"policy", "show", "--json"}).out);
  EXPECT_EQ(j["in_sync"], true);
  EXPECT_EQ(j["live"]["rules"][0]["text"], "id=0001:0002");
  EXPECT_EQ(j["policy"]["config"]["teardown_budget_ms"], 5000);
}

TEST_F(PolicyCli, ShowDifferences) {
  fs.files[kPolicy] = "[[tb.rule]]\nid = \"1:2\"\n[teardown]\nbudget_ms = 900\n";
  control.setTbRules("id=0003:0004");
  const auto r = run({"policy", "show"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr("difference: rule not live: id=0001:0002\n"));
  EXPECT_THAT(r.out, HasSubstr("difference: live rule not in the file: id=0003:0004\n"));
  EXPECT_THAT(r.out, HasSubstr("difference: teardown_budget_ms: file 900, live 5000\n"));
  EXPECT_THAT(r.out, HasSubstr("difference: /etc/modprobe.d/egpu-gate.conf is missing"));
  auto j = nlohmann::json::parse(run({"policy", "show", "--json"}).out);
  EXPECT_EQ(j["in_sync"], false);
  EXPECT_EQ(j["differences"].size(), 4u);
}

TEST_F(PolicyCli, ShowWithoutModule) {
  const auto r = run_egpuctl({"policy", "show"}, nullptr, sys.setup());
  EXPECT_EQ(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr("live rules:  unavailable: module egpu_gate is not loaded"));
  EXPECT_THAT(r.out, HasSubstr("differences: live state unavailable"));
}

// --- tb rules -----------------------------------------------------------------

TEST_F(PolicyCli, TbRules) {
  auto r = run({"tb", "rules"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr("no rules"));
  control.rules = {{3, "id=0001:0002", 12}, {10, std::string("uuid=") + kUuid, std::nullopt}};
  r = run({"tb", "rules"});
  EXPECT_EQ(r.out,
            "ID  HITS  RULE\n"
            "3     12  id=0001:0002\n"
            "10     -  uuid=" +
                std::string(kUuid) + "\n");
  auto j = nlohmann::json::parse(run({"tb", "rules", "--json"}).out);
  EXPECT_EQ(j[0]["id"], 3);
  EXPECT_EQ(j[0]["hits"], 12);
  EXPECT_TRUE(j[1]["hits"].is_null());
  EXPECT_EQ(run_egpuctl({"tb", "rules"}).rc, 3);
}

// --- tb allow -----------------------------------------------------------------

TEST_F(PolicyCli, AllowByUuidEditsThePolicyAndAppliesIt) {
  fs.files[kPolicy] = "# mine\n\n[teardown]\nbudget_ms = 3000\n";
  const auto r = run({"tb", "allow", "--bind", "1002:687f,1002:AAF8", "0-1"});
  EXPECT_EQ(r.rc, 0) << r.err;
  const std::string rule = std::string("uuid=") + kUuid + ",bind=1002:687f+1002:aaf8";
  EXPECT_EQ(fs.files[kPolicy],
            "# mine\n\n[teardown]\nbudget_ms = 3000\n\n[[tb.rule]]\n"
            "# 0-1 (Razer Core X): added by egpuctl tb allow\n"
            "uuid = \"d1e2a3b4-0000-0000-0000-000000000001\"\n"
            "bind = [\"1002:687f\", \"1002:aaf8\"]\n");
  EXPECT_EQ(live_texts(), std::vector<std::string>{rule});
  EXPECT_THAT(fs.files[kConf], HasSubstr(rule));
  EXPECT_EQ(runner.calls.size(), 1u);
  EXPECT_THAT(r.out, HasSubstr("0-1: allowed by rule: " + rule + "\n"));
}

TEST_F(PolicyCli, AllowCreatesThePolicyFile) {
  const auto r = run({"tb", "allow", "--no-initramfs", "0-1"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(file_policy().rules.size(), 1u);
  EXPECT_THAT(fs.files[kPolicy], HasSubstr("egpu-gate(7)"));
  EXPECT_TRUE(runner.calls.empty());
}

TEST_F(PolicyCli, AllowByIdAndByNameWithOptions) {
  auto r = run({"tb", "allow", "--by", "id", "--chain", "--no-iommu-required", "0-1"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(live_texts(), std::vector<std::string>{"id=8086:15d3,iommu=optional,chain=1"});
  r = run({"tb", "allow", "--by", "name", "0-1"});
  EXPECT_EQ(r.rc, 0) << r.err;
  // Goes before the id rule, which matches the device too.
  EXPECT_EQ(live_texts(), (std::vector<std::string>{"vendor_name=Razer,device_name=Core X",
                                                    "id=8086:15d3,iommu=optional,chain=1"}));
}

TEST_F(PolicyCli, AllowReplacesTheDevicesOwnRulesAndIsIdempotent) {
  fs.files[kPolicy] = "[[tb.rule]]\nuuid = \"" + std::string(kUuid) +
                      "\"\naction = \"ignore\"\n\n[[tb.rule]]\nid = \"1:2\"\n";
  ASSERT_EQ(run({"tb", "allow", "0-1"}).rc, 0);
  EXPECT_EQ(live_texts(),
            (std::vector<std::string>{std::string("uuid=") + kUuid, "id=0001:0002"}));
  const std::string before = fs.files[kPolicy];
  fs.replaced.clear();
  const auto r = run({"tb", "allow", "0-1"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr("no change needed"));
  EXPECT_EQ(fs.files[kPolicy], before);
  EXPECT_EQ(fs.replaced, std::vector<std::string>{kConf});
}

TEST_F(PolicyCli, AllowNoPersistChangesTheLiveRulesOnly) {
  control.setTbRules("id=0001:0002");
  const auto r = run({"tb", "allow", "--no-persist", "0-1"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(live_texts(),
            (std::vector<std::string>{"id=0001:0002", std::string("uuid=") + kUuid}));
  EXPECT_TRUE(fs.replaced.empty());
  EXPECT_TRUE(runner.calls.empty());
}

TEST_F(PolicyCli, AllowErrors) {
  auto r = run({"tb", "allow", "9-9"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("no Thunderbolt device '9-9'"));
  r = run({"tb", "allow", "--by", "colour", "0-1"});
  EXPECT_EQ(r.rc, 2);
  r = run({"tb", "allow", "--bind", "1002", "0-1"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_THAT(r.err, HasSubstr("--bind: '1002' is not an ID"));
  r = run({"tb", "allow"});
  EXPECT_EQ(r.rc, 2);
  r = run({"tb", "allow", "--by", "name", "0-0"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("no vendor and device names"));
  fs.files[kPolicy] = "[[tb.rule]\n";
  r = run({"tb", "allow", "0-1"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("TOML syntax"));
  EXPECT_EQ(run_egpuctl({"tb", "allow", "0-1"}, nullptr, sys.setup()).rc, 3);
}

TEST_F(PolicyCli, AllowFailureRollsBack) {
  fs.files[kPolicy] = "# mine\n";
  fs.write_errors[kConf] = ENOSPC;
  fs.write_error_at[kConf] = 1;
  const auto r = run({"tb", "allow", "0-1"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("write /etc/modprobe.d/egpu-gate.conf) failed"));
  EXPECT_EQ(fs.files[kPolicy], "# mine\n");
  EXPECT_TRUE(control.rules.empty());
}

// --- tb deny ------------------------------------------------------------------

TEST_F(PolicyCli, DenyRemovesTheDevicesRule) {
  fs.files[kPolicy] = "# keep\n\n# the eGPU\n[[tb.rule]]\nuuid = \"" + std::string(kUuid) +
                      "\"\n\n[[tb.rule]]\nid = \"1:2\"\n";
  const auto r = run({"tb", "deny", "0-1"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(fs.files[kPolicy], "# keep\n\n[[tb.rule]]\nid = \"1:2\"\n");
  EXPECT_EQ(live_texts(), std::vector<std::string>{"id=0001:0002"});
  EXPECT_THAT(r.out, HasSubstr("0-1: no longer authorized by egpu-gate\n"));
}

TEST_F(PolicyCli, DenyOverridesABroaderRule) {
  fs.files[kPolicy] = "[[tb.rule]]\nid = \"8086:15d3\"\n";
  const auto r = run({"tb", "deny", "0-1"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(live_texts(), (std::vector<std::string>{
                              std::string("uuid=") + kUuid + ",action=ignore", "id=8086:15d3"}));
  EXPECT_THAT(fs.files[kPolicy], HasSubstr("# 0-1 (Razer Core X): denied by egpuctl tb deny"));
}

TEST_F(PolicyCli, DenyOfAnAuthorizedDeviceSaysItStays) {
  control.tb_devices[1].authorized = 1;
  const auto r = run({"tb", "deny", "--no-persist", "0-1"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("live rules unchanged"));
  EXPECT_THAT(r.out, HasSubstr("egpuctl tb deauthorize 0-1"));
}

TEST_F(PolicyCli, DenyNoPersist) {
  control.setTbRules(std::string("uuid=") + kUuid + ";id=0001:0002");
  const auto r = run({"tb", "deny", "--no-persist", "0-1"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(live_texts(), std::vector<std::string>{"id=0001:0002"});
  EXPECT_TRUE(fs.replaced.empty());
}

TEST_F(PolicyCli, DenyWithoutUuid) {
  control.tb_devices[1].uniqueId.reset();
  const auto r = run({"tb", "deny", "0-1"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("no usable UUID"));
}

TEST_F(PolicyCli, ParentRulesUseTheParentsUuid) {
  fs.files[kPolicy] = "[[tb.rule]]\nparent = \"" + std::string(kParentUuid) + "\"\n";
  const auto r = run({"tb", "deny", "0-1"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(live_texts().size(), 2u);
  EXPECT_THAT(live_texts()[0], HasSubstr("action=ignore"));
}

}  // namespace
}  // namespace egpuctl
