// apply_policy(): the steps against FakeControl and an in-memory file
// system, and a failure at every step (undo, message).
#include "policy_apply.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <sstream>

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

constexpr char kUuid[] = "d1e2a3b4-0000-0000-0000-000000000001";
const std::string kConf = "/etc/modprobe.d/egpu-gate.conf";
const std::string kPolicy = "/etc/egpu-gate/policy.toml";
const std::string kInitramfs = "update-initramfs -u -k all";
const std::string kGenerated = "update-initramfs: Generating /boot/initrd.img-6.1.0-28-amd64\n";

Status tb_status() {
  Status s = testing::sample_status();
  s.features = *s.features | EGPU_FEATURE_TB_POLICY;
  s.config->resetLeaveD0 = 1;
  return s;
}

Policy sample_policy() {
  Policy p;
  TbRule r;
  r.uuid = kUuid;
  r.bind = {{0x1002, 0x687f}};
  p.rules = {r};
  p.gpuIds = {{{0x1002, 0x6863}, "vega10"}};
  p.teardownBudgetMs = 2000;
  return p;
}

class Apply : public ::testing::Test {
 protected:
  void SetUp() override {
    runner.results[kInitramfs] = RunResult{0, kGenerated};  // installed, succeeds
    control.status_reply = tb_status();
    control.setTbRules("id=0001:0002");  // the previous live set
    control.rule_sets.clear();
    fs.files[kConf] = "old conf\n";
    fs.files[kPolicy] = "old policy\n";
  }
  void run(const Policy& p, const std::optional<std::string>& text = std::nullopt,
           ApplyOptions options = {}) {
    ApplyEnv env{fs, runner, [this]() -> Control& { return control; }, out};
    apply_policy(env, p, PolicyPaths{}, text, kPolicy, options);
  }
  // Runs and returns the error message ("" when it succeeded).
  std::string fails(const Policy& p, const std::optional<std::string>& text = std::nullopt) {
    try {
      run(p, text);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  void expect_previous_state() {
    EXPECT_EQ(fs.files[kConf], "old conf\n");
    EXPECT_EQ(fs.files[kPolicy], "old policy\n");
    ASSERT_EQ(control.rules.size(), 1u);
    EXPECT_EQ(control.rules[0].text, "id=0001:0002");
    EXPECT_EQ(control.status_reply.config, tb_status().config);
  }
  FakeControl control;
  FakeSystem sys;  // the host's files and programs
  FakeFileTree& fs = sys.files;
  FakeCommandRunner& runner = sys.runner;
  std::ostringstream out;
};

TEST_F(Apply, EveryStepInOrder) {
  run(sample_policy(), "new policy\n");
  EXPECT_EQ(control.rule_sets,
            std::vector<std::string>{std::string("uuid=") + kUuid + ",bind=1002:687f"});
  ASSERT_EQ(control.changes.size(), 1u);
  EXPECT_EQ(control.changes[0], (ConfigChange{1, 2000, 1}));
  EXPECT_EQ(control.added, (std::vector<GpuId>{{0x1002, 0x6863, "vega10"}}));
  EXPECT_EQ(fs.files[kPolicy], "new policy\n");
  EXPECT_EQ(fs.files[kConf], render_modprobe_conf(sample_policy(), kPolicy));
  EXPECT_EQ(runner.calls, std::vector<std::string>{kInitramfs});
  EXPECT_EQ(out.str(),
            "[1/6] live: set the Thunderbolt rules (1): done\n"
            "[2/6] live: set teardown and reset settings: done\n"
            "[3/6] live: add the GPU IDs (1): done\n"
            "[4/6] write /etc/egpu-gate/policy.toml: done\n"
            "[5/6] write /etc/modprobe.d/egpu-gate.conf: done\n"
            "[6/6] update the initramfs (update-initramfs -u -k all): done "
            "(/boot/initrd.img-6.1.0-28-amd64)\n");
}

TEST_F(Apply, DefaultsForWhatThePolicyLeavesOut) {
  run(Policy{});
  EXPECT_EQ(control.rule_sets, std::vector<std::string>{""});
  EXPECT_EQ(control.changes[0], (ConfigChange{1, EGPU_TEARDOWN_BUDGET_DEFAULT_MS, 1}));
}

TEST_F(Apply, ResetLeaveD0OnlyWhenTheModuleKnowsIt) {
  control.status_reply.config->resetLeaveD0.reset();
  run(Policy{});
  EXPECT_EQ(control.changes[0].resetLeaveD0, std::nullopt);
  Policy p;
  p.resetLeaveD0 = false;
  EXPECT_THAT(fails(p), HasSubstr("does not report reset_leave_d0"));
}

TEST_F(Apply, AnIdAlreadyAddedIsFine) {
  control.gpu_id_error = kernel_error("add GPU ID", EEXIST);
  run(sample_policy());
  EXPECT_THAT(out.str(), HasSubstr("[3/5] live: add the GPU IDs (1): done"));
}

TEST_F(Apply, NoInitramfs) {
  ApplyOptions o;
  o.initramfs = false;
  run(sample_policy(), std::nullopt, o);
  EXPECT_TRUE(runner.calls.empty());
  EXPECT_THAT(out.str(), HasSubstr("note: initramfs not updated (--no-initramfs)"));
}

TEST_F(Apply, EveryKernelsImageIsNamed) {
  runner.results[kInitramfs] = RunResult{
      0, "update-initramfs: Generating /boot/initrd.img-6.8.12-4-pve\n"
         "W: Possible missing firmware /lib/firmware/amdgpu/x.bin for module amdgpu\n"
         "update-initramfs: Generating /boot/initrd.img-6.5.13-6-pve\n"
         "Running hook script 'zz-proxmox-boot'..\n"};
  run(sample_policy());
  EXPECT_THAT(out.str(), HasSubstr("update-initramfs -u -k all): done "
                                   "(/boot/initrd.img-6.8.12-4-pve, "
                                   "/boot/initrd.img-6.5.13-6-pve)\n"));
  EXPECT_THAT(out.str(), Not(HasSubstr("note:")));
}

// update-initramfs -u exits 0 and prints nothing when there is no image
// (/boot not mounted, a chroot before its kernel's postinst): say so.
TEST_F(Apply, NoImageToUpdateIsSaid) {
  runner.results[kInitramfs] = RunResult{0, ""};
  run(sample_policy());
  EXPECT_THAT(out.str(), HasSubstr("update-initramfs -u -k all): done (no image found)\n"));
  EXPECT_THAT(out.str(), HasSubstr("note: update-initramfs found no initramfs image to update"));
  EXPECT_THAT(out.str(), HasSubstr("update-initramfs -c -k VERSION"));
  EXPECT_EQ(fs.files[kConf], render_modprobe_conf(sample_policy(), kPolicy));  // not undone
}

// --- offline (policy apply --offline): files and initramfs, nothing live ----

TEST_F(Apply, OfflineNeverAsksForTheModule) {
  ApplyEnv env{fs, runner, {}, out};  // no way to reach a module at all
  ApplyOptions o;
  o.live = false;
  apply_policy(env, sample_policy(), PolicyPaths{}, "new policy\n", kPolicy, o);
  EXPECT_EQ(fs.files[kPolicy], "new policy\n");
  EXPECT_EQ(fs.files[kConf], render_modprobe_conf(sample_policy(), kPolicy));
  EXPECT_EQ(runner.calls, std::vector<std::string>{kInitramfs});
  EXPECT_EQ(out.str(),
            "[1/3] write /etc/egpu-gate/policy.toml: done\n"
            "[2/3] write /etc/modprobe.d/egpu-gate.conf: done\n"
            "[3/3] update the initramfs (update-initramfs -u -k all): done "
            "(/boot/initrd.img-6.1.0-28-amd64)\n"
            "note: offline (--offline): module egpu_gate was not contacted and nothing live "
            "changed; the policy takes effect at the next boot (or the next load of the "
            "module); to apply it now, run `egpuctl policy apply` without --offline\n");
}

TEST_F(Apply, OfflineWithAModuleAtHandStillLeavesItAlone) {
  bool asked = false;
  ApplyEnv env{fs, runner, [&]() -> Control& {
                 asked = true;
                 return control;
               },
               out};
  ApplyOptions o;
  o.live = false;
  // Settings a loaded module might refuse do not matter offline.
  Policy p = sample_policy();
  p.resetLeaveD0 = true;
  control.status_reply.config->resetLeaveD0.reset();
  apply_policy(env, p, PolicyPaths{}, std::nullopt, kPolicy, o);
  EXPECT_FALSE(asked);
  EXPECT_TRUE(control.rule_sets.empty());
  EXPECT_TRUE(control.changes.empty());
  EXPECT_TRUE(control.added.empty());
  EXPECT_EQ(control.rules.size(), 1u);  // the previous live set, untouched
  EXPECT_EQ(fs.files[kConf], render_modprobe_conf(p, kPolicy));
}

TEST_F(Apply, OfflineFailureUndoesTheFilesOnly) {
  runner.results[kInitramfs] = RunResult{1, "E: /boot is full\n"};
  ApplyEnv env{fs, runner, {}, out};
  ApplyOptions o;
  o.live = false;
  try {
    apply_policy(env, sample_policy(), PolicyPaths{}, "new policy\n", kPolicy, o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("step 3/3 (update the initramfs"));
    EXPECT_THAT(e.what(), HasSubstr("restored the previous /etc/egpu-gate/policy.toml"));
  }
  EXPECT_EQ(fs.files[kConf], "old conf\n");
  EXPECT_EQ(fs.files[kPolicy], "old policy\n");
}

TEST_F(Apply, LiveWithoutAModuleAccessorIsRefused) {
  ApplyEnv env{fs, runner, {}, out};
  EXPECT_THROW(apply_policy(env, sample_policy(), PolicyPaths{}, std::nullopt, kPolicy, {}),
               Error);
  EXPECT_TRUE(fs.replaced.empty());
}

TEST_F(Apply, OtherRootNeverRunsUpdateInitramfs) {
  ApplyEnv env{fs, runner, [this]() -> Control& { return control; }, out};
  apply_policy(env, sample_policy(), PolicyPaths{"/tmp/tree/"}, std::nullopt, kPolicy, {});
  EXPECT_TRUE(runner.calls.empty());
  EXPECT_TRUE(fs.files.count("/tmp/tree/etc/modprobe.d/egpu-gate.conf"));
  EXPECT_THAT(out.str(), HasSubstr("--root points at another tree"));
}

TEST_F(Apply, ModuleNotLoadedWritesTheFilesOnly) {
  ApplyEnv env{fs, runner, []() -> Control& { throw module_not_loaded(); }, out};
  apply_policy(env, sample_policy(), PolicyPaths{}, std::nullopt, kPolicy, {});
  EXPECT_EQ(fs.files[kConf], render_modprobe_conf(sample_policy(), kPolicy));
  EXPECT_THAT(out.str(), HasSubstr("note: module egpu_gate is not loaded"));
  ApplyOptions o;
  o.require_module = true;
  EXPECT_THROW(apply_policy(env, sample_policy(), PolicyPaths{}, std::nullopt, kPolicy, o), Error);
}

TEST_F(Apply, ModuleWithoutRuleCommands) {
  control.rules_get_error = kernel_error("list Thunderbolt rules", EOPNOTSUPP);
  EXPECT_THAT(fails(sample_policy()), HasSubstr("no Thunderbolt rule commands"));
  expect_previous_state();
  // Without rules there is nothing it cannot do.
  Policy p = sample_policy();
  p.rules.clear();
  run(p);
  EXPECT_TRUE(control.rule_sets.empty());
}

TEST_F(Apply, PermissionDeniedIsNotSkipped) {
  control.error = kernel_error("get status", EPERM);
  try {
    run(sample_policy());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kPermission);
  }
}

// --- a failure at every step ----------------------------------------------

TEST_F(Apply, RulesRejected) {
  control.rules_set_error = kernel_error("set Thunderbolt rules", EINVAL, "bind: bad");
  const std::string msg = fails(sample_policy(), "new policy\n");
  EXPECT_THAT(msg, HasSubstr("step 1/6 (live: set the Thunderbolt rules (1)) failed: set "
                             "Thunderbolt rules: Invalid argument (kernel: bind: bad)"));
  EXPECT_THAT(msg, HasSubstr("in force now: the previous policy, live and in the files "
                             "(nothing changed)"));
  control.rules_set_error.reset();
  expect_previous_state();
}

TEST_F(Apply, RuleListFailureOtherThanUnsupported) {
  control.rules_get_error = kernel_error("list Thunderbolt rules", EIO);
  EXPECT_THAT(fails(sample_policy()), HasSubstr("list Thunderbolt rules: Input/output error"));
  control.rules_get_error.reset();
  expect_previous_state();
}

TEST_F(Apply, SettingsRejected) {
  control.config_error = kernel_error("set config", ERANGE);
  const std::string msg = fails(sample_policy(), "new policy\n");
  EXPECT_THAT(msg, HasSubstr("step 2/6 (live: set teardown and reset settings) failed"));
  EXPECT_THAT(msg, HasSubstr("undone: set the previous live Thunderbolt rules again"));
  control.config_error.reset();
  expect_previous_state();
}

TEST_F(Apply, GpuIdRejected) {
  control.gpu_id_error = kernel_error("add GPU ID", ENOENT);
  const std::string msg = fails(sample_policy(), "new policy\n");
  EXPECT_THAT(msg, HasSubstr("step 3/6 (live: add the GPU IDs (1)) failed: add GPU ID: No such "
                             "file or directory"));
  EXPECT_THAT(msg, HasSubstr("set the previous live settings again"));
  control.gpu_id_error.reset();
  expect_previous_state();
  EXPECT_TRUE(control.removed.empty());
}

TEST_F(Apply, PolicyFileWriteFails) {
  fs.write_errors[kPolicy] = ENOSPC;
  fs.write_error_at[kPolicy] = 1;
  const std::string msg = fails(sample_policy(), "new policy\n");
  EXPECT_THAT(msg, HasSubstr("step 4/6 (write /etc/egpu-gate/policy.toml) failed: cannot write"));
  EXPECT_THAT(msg, HasSubstr("removed the 1 GPU IDs added"));
  expect_previous_state();
  EXPECT_EQ(control.removed, control.added);
}

TEST_F(Apply, ModprobeWriteFails) {
  fs.write_errors[kConf] = ENOSPC;
  fs.write_error_at[kConf] = 1;
  const std::string msg = fails(sample_policy(), "new policy\n");
  EXPECT_THAT(msg, HasSubstr("step 5/6 (write /etc/modprobe.d/egpu-gate.conf) failed"));
  EXPECT_THAT(msg, HasSubstr("restored the previous /etc/egpu-gate/policy.toml"));
  expect_previous_state();
}

TEST_F(Apply, UpdateInitramfsFails) {
  runner.results[kInitramfs] = RunResult{1, "E: /boot is full\n"};
  const std::string msg = fails(sample_policy(), "new policy\n");
  EXPECT_THAT(msg, HasSubstr("step 6/6 (update the initramfs (update-initramfs -u -k all)) "
                             "failed: update-initramfs -u -k all: exit status 1:\nE: /boot is "
                             "full"));
  EXPECT_THAT(msg, HasSubstr("restored the previous /etc/modprobe.d/egpu-gate.conf"));
  expect_previous_state();
}

TEST_F(Apply, NewFileIsRemovedOnUndo) {
  fs.files.erase(kConf);
  runner.results[kInitramfs] = RunResult{1, ""};
  const std::string msg = fails(sample_policy());
  EXPECT_THAT(msg, HasSubstr("removed the new /etc/modprobe.d/egpu-gate.conf"));
  EXPECT_FALSE(fs.files.count(kConf));
}

TEST_F(Apply, UndoThatFailsIsReported) {
  runner.results[kInitramfs] = RunResult{1, ""};
  fs.write_errors[kConf] = ENOSPC;
  fs.write_error_at[kConf] = 2;  // the restore
  const std::string msg = fails(sample_policy());
  EXPECT_THAT(msg, HasSubstr("in force now: NOT the previous policy everywhere: write "
                             "/etc/modprobe.d/egpu-gate.conf: could not undo"));
  EXPECT_THAT(msg, HasSubstr("egpuctl policy show"));
  EXPECT_THAT(msg, Not(HasSubstr("nothing changed")));
}

}  // namespace
}  // namespace egpuctl
