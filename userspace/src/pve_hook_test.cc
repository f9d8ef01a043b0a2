// egpuctl pve-hook against the runbook's host and VM 100.
#include "pve_hook.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>

#include "fake_system.h"

namespace egpuctl {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using testing::FakeControl;
using testing::FakeSystem;
using testing::HostFixture;
using testing::run_egpuctl;
using testing::runbook_tb_devices;
using testing::tb_status;

struct PveHookTest : ::testing::Test {
  void with_module(bool authorized = true) {
    fake.status_reply = tb_status();
    fake.gpus_reply = {Gpu{.bdf = "0000:30:00.0", .vendor = 0x1002, .device = 0x687f,
                           .family = "vega10", .resetMethodSet = true,
                           .stats = GpuStats{.count = 2, .failures = 0, .lastResult = 0,
                                             .lastDurationUs = 812345,
                                             .lastMethod = EGPU_RESET_METHOD_BACO}}};
    sys.devices.devices = runbook_tb_devices(authorized);
    module = &fake;
  }
  testing::CliRun run(std::vector<std::string> args) {
    return run_egpuctl(std::move(args), module, sys.setup());
  }
  FakeControl fake;
  FakeControl* module = nullptr;
  FakeSystem sys;
};

TEST_F(PveHookTest, PreStartReady) {
  HostFixture(sys).runbook_host();
  with_module();
  const auto r = run({"pve-hook", "100", "pre-start"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "egpu-gate: VM 100: 0000:30:00.0, 0000:30:00.1 ready\n");
  EXPECT_TRUE(sys.sysfs.writes.empty());
}

TEST_F(PveHookTest, PreStartBindsAndSetsResetMethod) {
  HostFixture fx(sys);  // vfio_available()'s callbacks use it: keep it alive
  fx.runbook_host(true, false, false).vfio_available();
  with_module();
  const auto r = run({"pve-hook", "100", "pre-start"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("0000:30:00.0: bound to vfio-pci (was amdgpu)\n"));
  EXPECT_THAT(r.out, HasSubstr("0000:30:00.1: bound to vfio-pci (was snd_hda_intel)\n"));
  EXPECT_THAT(r.out, HasSubstr("0000:30:00.0: device_specific is now first in reset_method\n"));
  EXPECT_THAT(sys.sysfs.writes, Contains(Pair("/bus/pci/devices/0000:30:00.0/reset_method",
                                              "device_specific bus")));
  EXPECT_EQ(sys.sysfs.link_name("/bus/pci/devices/0000:30:00.1/driver"), "vfio-pci");
}

TEST_F(PveHookTest, PreStartAuthorizesWhatARuleAllows) {
  HostFixture fx(sys);
  fx.runbook_host(false);
  with_module(false);
  sys.devices.on_authorize = [&](const std::string&) { fx.egpu_functions(); };
  const auto r = run({"pve-hook", "100", "pre-start"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_THAT(sys.devices.authorized, ElementsAre("1-1"));
  EXPECT_THAT(r.out, HasSubstr("0000:30:00.0, 0000:30:00.1 not present\n"));
  EXPECT_THAT(r.out, HasSubstr("authorized Thunderbolt device 1-1 (Blackmagic Design eGPU Pro, "
                               "rule 1)\n"));
  EXPECT_THAT(r.out, HasSubstr("ready\n"));
}

TEST_F(PveHookTest, PreStartAbortsWhenTheGpuIsMissing) {
  HostFixture(sys).runbook_host(false);
  const auto r = run({"pve-hook", "100", "pre-start"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.out, HasSubstr("1-1 (Blackmagic Design eGPU Pro) is not authorized and no rule "
                               "allows it (egpu_gate is not loaded)"));
  EXPECT_THAT(r.err, HasSubstr("egpuctl: VM 100 must not start: 0000:30:00.0, 0000:30:00.1 not "
                               "present: Thunderbolt device 1-1 (Blackmagic Design eGPU Pro) is "
                               "not authorized and egpu_gate is not loaded: load it ('modprobe "
                               "egpu_gate') and allow it with 'egpuctl tb allow 1-1'"));
  EXPECT_TRUE(sys.sysfs.writes.empty());
}

TEST_F(PveHookTest, PreStartAbortsWhenNoRuleAllowsTheDevice) {
  HostFixture(sys).runbook_host(false);
  with_module(false);
  for (TbDevice& d : sys.devices.devices) d.ruleId.reset();
  const auto r = run({"pve-hook", "100", "pre-start"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(sys.devices.authorized, ::testing::IsEmpty());
  EXPECT_THAT(r.err, HasSubstr("VM 100 must not start: 0000:30:00.0, 0000:30:00.1 not present: "
                               "Thunderbolt device 1-1 (Blackmagic Design eGPU Pro) is not "
                               "authorized and no rule of egpu_gate allows it: allow it with "
                               "'egpuctl tb allow 1-1' (or once: 'egpuctl tb authorize 1-1')"));
}

TEST_F(PveHookTest, PreStartAbortsWithoutAWorkingReset) {
  HostFixture(sys).runbook_host(true, true, false);
  sys.sysfs.write_errors["/bus/pci/devices/0000:30:00.0/reset_method"] = EINVAL;
  const auto r = run({"pve-hook", "100", "pre-start"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("VM 100 must not start: 0000:30:00.0 has no working reset "
                               "(reset_method 'bus')"));
  EXPECT_THAT(r.err, HasSubstr("load egpu_gate"));
}

TEST_F(PveHookTest, PreStartAbortsWhenVfioIsMissing) {
  HostFixture(sys).runbook_host(true, false);
  sys.sysfs.dirs.erase("/bus/pci/drivers/vfio-pci");
  const auto r = run({"pve-hook", "100", "pre-start"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("cannot bind 0000:30:00.0 to vfio-pci"));
}

TEST_F(PveHookTest, OtherPhasesAndVmsWithoutGpus) {
  HostFixture(sys).runbook_host().pve_vm("102", "name: plain\nmemory: 512\n");
  EXPECT_EQ(run({"pve-hook", "100", "post-start"}).rc, 0);
  EXPECT_EQ(run({"pve-hook", "100", "pre-stop"}).rc, 0);
  const auto r = run({"pve-hook", "102", "pre-start"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, "egpu-gate: VM 102: passes no PCI device: nothing to do\n");
}

TEST_F(PveHookTest, PreStartWaitsBoundedForAnAuthorizedDevice) {
  HostFixture(sys).runbook_host(false);
  with_module(true);  // 1-1 authorized, its GPU not (yet) there
  const auto r = run({"pve-hook", "100", "pre-start", "--wait", "0.3"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(sys.devices.authorized, ::testing::IsEmpty());
  EXPECT_THAT(r.err, HasSubstr("0000:30:00.0, 0000:30:00.1 not present 0.3 s after its "
                               "Thunderbolt device was authorized: connect the eGPU"));
}

TEST_F(PveHookTest, SlotOfAnAbsentEgpuIsNotNothing) {
  HostFixture(sys).runbook_host(false).pve_vm("100", "machine: q35\nhostpci0: 30:00,pcie=1\n");
  const auto r = run({"pve-hook", "100", "pre-start"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("VM 100 must not start: 0000:30:00 not present"));
}

// A hot-plug adds a slot's functions one by one: function 0 with the
// multifunction bit alone is waited on (bounded), then passed as it is.
TEST_F(PveHookTest, PreStartWaitsForTheOtherFunctionsOfASlot) {
  HostFixture fx(sys);
  fx.runbook_host(false)
      .pci("0000:30:00.0", 0x1002, 0x687f, 0x030000, "vfio-pci", "25", "device_specific bus")
      .pve_vm("100", "machine: q35\nhostpci0: 30:00,pcie=1\n");
  std::string cfg(64, '\0');
  cfg[0x0e] = static_cast<char>(0x80);
  sys.sysfs.file("/bus/pci/devices/0000:30:00.0/config", cfg);
  with_module();
  const auto r = run({"pve-hook", "100", "pre-start", "--wait", "0.3"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("0000:30:00: function 0 is multifunction but alone after 0.3 s: "
                               "passing it as it is\n"));
  EXPECT_THAT(r.out, HasSubstr("0000:30:00.0 ready\n"));
}

// The module decides what a GPU is: its gpu list (with IDs added by `gpu
// ids add` / gpu_ids=), not the vendor.
TEST_F(PveHookTest, PreStartTakesTheModulesGpus) {
  HostFixture fx(sys);  // vfio_available()'s callbacks use it: keep it alive
  fx.runbook_host()
      .pci("0000:01:00.0", 0x1234, 0x11e8, 0x00ff00, "", "30", "bus")
      .pci("0000:01:00.1", 0x1234, 0x11e8, 0x00ff00, "pci-stub", "30", "bus")
      .pve_vm("100", "machine: q35\nhostpci0: 0000:01:00,pcie=1\nhostpci1: 0000:30:00.0\n")
      .vfio_available();
  sys.sysfs.file("/bus/pci/devices/0000:30:00.0/reset_method", "bus\n");
  with_module();
  fake.gpus_reply = {Gpu{.bdf = "0000:01:00.0", .vendor = 0x1234, .device = 0x11e8,
                         .family = "standin-edu"}};
  const auto r = run({"pve-hook", "100", "pre-start"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("0000:01:00.0: bound to vfio-pci (was unbound)\n"));
  EXPECT_THAT(r.out, HasSubstr("0000:01:00.1: bound to vfio-pci (was pci-stub)\n"));
  EXPECT_THAT(r.out, HasSubstr("0000:01:00.0: device_specific is now first in reset_method\n"));
  EXPECT_THAT(r.out, HasSubstr("0000:30:00.0: not a GPU egpu_gate handles (reset_method left as "
                               "is)\n"));
  EXPECT_THAT(r.out, HasSubstr("0000:01:00.0, 0000:01:00.1, 0000:30:00.0 ready\n"));
  EXPECT_THAT(sys.sysfs.writes, Contains(Pair("/bus/pci/devices/0000:01:00.0/reset_method",
                                              "device_specific bus")));
  EXPECT_THAT(sys.sysfs.writes,
              ::testing::Not(Contains(Pair("/bus/pci/devices/0000:01:00.1/reset_method",
                                           ::testing::_))));
  EXPECT_THAT(sys.sysfs.writes,
              ::testing::Not(Contains(Pair("/bus/pci/devices/0000:30:00.0/reset_method",
                                           ::testing::_))));
}

TEST_F(PveHookTest, PreStartLoadsVfioPciLikeProxmox) {
  HostFixture(sys).runbook_host(true, false).program("modprobe vfio-pci", 0, "");
  sys.sysfs.dirs.erase("/bus/pci/drivers/vfio-pci");
  const auto r = run({"pve-hook", "100", "pre-start"});
  EXPECT_EQ(r.rc, 1);  // the fake modprobe loads nothing
  EXPECT_THAT(sys.runner.calls, Contains("modprobe vfio-pci"));
  EXPECT_THAT(r.err, HasSubstr("vfio-pci is not loaded"));
}

constexpr const char kMappingCfg[] =
    "egpu\n"
    "\tmap id=1002:687f,iommugroup=25,node=pve,path=0000:30:00\n"
    "\tmap id=1002:687f,node=pve2,path=0000:0a:00\n";

TEST_F(PveHookTest, PreStartResolvesAMapping) {
  HostFixture fx(sys);
  fx.runbook_host(false).pve_vm("100", "machine: q35\nhostpci0: mapping=egpu,pcie=1\n");
  sys.files.file("/proc/sys/kernel/hostname", "pve\n");
  sys.files.file("/etc/pve/mapping/pci.cfg", kMappingCfg);
  with_module(false);
  sys.devices.on_authorize = [&](const std::string&) { fx.egpu_functions(); };
  const auto r = run({"pve-hook", "100", "pre-start"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("0000:30:00 not present\n"));
  EXPECT_THAT(sys.devices.authorized, ElementsAre("1-1"));
  EXPECT_THAT(r.out, HasSubstr("0000:30:00.0, 0000:30:00.1 present after "));
  EXPECT_THAT(r.out, HasSubstr("0000:30:00.0, 0000:30:00.1 ready\n"));
}

TEST_F(PveHookTest, PreStartAbortsOnAMappingItCannotResolve) {
  HostFixture(sys).runbook_host().pve_vm("100", "machine: q35\nhostpci0: mapping=egpu,pcie=1\n");
  with_module();
  sys.files.file("/proc/sys/kernel/hostname", "pve3\n");
  auto r = run({"pve-hook", "100", "pre-start"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("VM 100 must not start: hostpci0: PCI mapping 'egpu': cannot read "
                               "/etc/pve/mapping/pci.cfg"));
  sys.files.file("/etc/pve/mapping/pci.cfg", kMappingCfg);
  r = run({"pve-hook", "100", "pre-start"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("VM 100 must not start: hostpci0: PCI mapping 'egpu' has no device "
                               "on node 'pve3' (only on pve, pve2): define it for this node"));
  sys.files.file("/proc/sys/kernel/hostname", "pve\n");
  sys.files.file("/etc/pve/mapping/pci.cfg",
                 "egpu\n\tmap id=1002:67df,node=pve,path=0000:30:00\n");
  r = run({"pve-hook", "100", "pre-start"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("hostpci0: mapping egpu expects 1002:67df at 0000:30:00.0, found "
                               "1002:687f: the hardware changed"));
  EXPECT_TRUE(sys.sysfs.writes.empty());
}

// As PVE::Mapping::PCI::assert_valid: id= and subsystem-id= at every path,
// iommugroup= at the first; checked before anything is rebound.
TEST_F(PveHookTest, PreStartChecksEveryPathOfAMapping) {
  HostFixture fx(sys);
  fx.runbook_host().pve_vm("100", "machine: q35\nhostpci0: mapping=egpu,pcie=1\n");
  fx.subsystem("0000:30:00.0", 0x1002, 0x0b36).subsystem("0000:30:00.1", 0x1002, 0xaaf8);
  sys.files.file("/proc/sys/kernel/hostname", "pve\n");
  with_module();
  const auto refused = [&](const std::string& cfg, const std::string& why) {
    sys.files.file("/etc/pve/mapping/pci.cfg", "egpu\n\tmap node=pve," + cfg + "\n");
    const auto r = run({"pve-hook", "100", "pre-start"});
    EXPECT_EQ(r.rc, 1) << cfg;
    EXPECT_THAT(r.err, HasSubstr("hostpci0: mapping egpu expects " + why + ": the hardware "
                                 "changed; update the mapping"))
        << cfg;
  };
  refused("id=1002:687f,path=0000:30:00.0;0000:30:00.1",
          "1002:687f at 0000:30:00.1, found 1002:aaf8");
  refused("id=1002:687f,path=0000:30:00,subsystem-id=1002:0b37",
          "subsystem 1002:0b37 at 0000:30:00.0, found 1002:0b36");
  refused("id=1002:687f,iommugroup=26,path=0000:30:00",
          "IOMMU group 26 at 0000:30:00.0, found 25");
  EXPECT_TRUE(sys.sysfs.writes.empty());
  sys.files.file("/etc/pve/mapping/pci.cfg",
                 "egpu\n\tmap id=0x1002:0x687F,iommugroup=25,node=pve,path=0000:30:00,"
                 "subsystem-id=1002:0b36\n");
  const auto r = run({"pve-hook", "100", "pre-start"});
  EXPECT_EQ(r.rc, 0) << r.err;
}

// doctor reads VM configs through the same resolution.
TEST_F(PveHookTest, DoctorResolvesMappingsToo) {
  HostFixture(sys)
      .runbook_host()
      .pve_vm("100", "machine: q35\nhostpci0: mapping=egpu,pcie=1\n")
      .pve_vm("101", "machine: q35\nhostpci0: mapping=gone,pcie=1\n");
  sys.files.file("/proc/sys/kernel/hostname", "pve\n");
  sys.files.file("/etc/pve/mapping/pci.cfg", kMappingCfg);
  with_module();
  const auto r = run({"doctor"});
  EXPECT_THAT(r.out, HasSubstr("OK    pve.vm vm 100: passes 0000:30:00.0: q35, pcie=1, audio with "
                               "rombar=0\n"));
  EXPECT_THAT(r.out, HasSubstr("WARN  pve.hostpci vm 101: hostpci0: PCI mapping 'gone' is not in "
                               "/etc/pve/mapping/pci.cfg"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("pve.hostpci vm 100")));
}

TEST_F(PveHookTest, PostStopLogsResetCounters) {
  HostFixture(sys).runbook_host();
  with_module();
  auto r = run({"pve-hook", "100", "post-stop"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out,
            "egpu-gate: VM 100: 0000:30:00.0 (vega10): resets=2 failures=0 last=ok "
            "last_us=812345 method=baco\n");
  module = nullptr;
  r = run({"pve-hook", "100", "post-stop"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr("no reset counters: module egpu_gate is not loaded"));
}

TEST_F(PveHookTest, UsageErrors) {
  HostFixture(sys).runbook_host();
  EXPECT_EQ(run({"pve-hook", "100"}).rc, 2);
  EXPECT_EQ(run({"pve-hook", "abc", "pre-start"}).rc, 2);
  const auto r = run({"pve-hook", "100", "pre-migrate"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown phase 'pre-migrate'"));
  const auto none = run({"pve-hook", "555", "pre-start"});
  EXPECT_EQ(none.rc, 1);
  EXPECT_THAT(none.err, HasSubstr("no VM 555: cannot read /etc/pve/qemu-server/555.conf"));
}

TEST_F(PveHookTest, InstallWritesTheSnippetAndAttachesIt) {
  HostFixture(sys).runbook_host().program(
      "qm set 100 --hookscript local:snippets/egpu-gate-hook.sh", 0, "update VM 100\n");
  sys.files.dir("/var/lib/vz/snippets");
  sys.files.link("/proc/self/exe", "/usr/sbin/egpuctl");
  const auto r = run({"pve-hook", "install", "100"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "wrote /var/lib/vz/snippets/egpu-gate-hook.sh\n"
            "VM 100: hookscript local:snippets/egpu-gate-hook.sh\n");
  EXPECT_EQ(sys.files.files["/var/lib/vz/snippets/egpu-gate-hook.sh"],
            pve_hook_snippet("/usr/sbin/egpuctl"));
  EXPECT_THAT(pve_hook_snippet("/usr/sbin/egpuctl"),
              HasSubstr("exec /usr/sbin/egpuctl pve-hook \"$@\"\n"));
  EXPECT_EQ(sys.files.modes["/var/lib/vz/snippets/egpu-gate-hook.sh"], 0755u);
  EXPECT_THAT(sys.runner.calls,
              ElementsAre("qm set 100 --hookscript local:snippets/egpu-gate-hook.sh"));
}

TEST_F(PveHookTest, InstallFailures) {
  HostFixture(sys).runbook_host();
  auto r = run({"pve-hook", "install", "100"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("/var/lib/vz/snippets does not exist: allow snippets"));
  sys.files.dir("/var/lib/vz/snippets");
  r = run({"pve-hook", "install", "100"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("qm is not installed"));
  HostFixture(sys).program("qm set 100 --hookscript local:snippets/egpu-gate-hook.sh", 2,
                           "hookscript: volume not found\n");
  r = run({"pve-hook", "install", "100"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("failed (exit 2): hookscript: volume not found"));
  r = run({"pve-hook", "install", "100", "--storage", "nas"});
  EXPECT_EQ(r.rc, 2);
  sys.files.dir("/mnt/pve/nas/snippets");
  HostFixture(sys).program("qm set 100 --hookscript nas:snippets/egpu-gate-hook.sh", 0, "");
  r = run({"pve-hook", "install", "100", "--storage", "nas", "--dir", "/mnt/pve/nas/snippets"});
  EXPECT_EQ(r.rc, 0) << r.err;
  sys.files.write_errors["/var/lib/vz/snippets/egpu-gate-hook.sh"] = ENOSPC;
  r = run({"pve-hook", "install", "100"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("No space left on device"));
  r = run({"pve-hook", "install", "555"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("no VM 555 on this node"));
}

}  // namespace
}  // namespace egpuctl
