// egpuctl doctor against trees shaped like the runbook's host and its
// failure modes.
#include "doctor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fake_system.h"
#include "pci_topology.h"

namespace egpuctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::FakeControl;
using testing::FakeSystem;
using testing::HostFixture;
using testing::run_egpuctl;
using testing::runbook_tb_devices;
using testing::tb_status;

struct DoctorTest : ::testing::Test {
  // Module loaded (with the Thunderbolt policy) and handling the Vega.
  void with_module(bool authorized = true) {
    fake.status_reply = tb_status();
    fake.gpus_reply = {Gpu{.bdf = "0000:30:00.0", .vendor = 0x1002, .device = 0x687f,
                           .family = "vega10", .resetMethodSet = true}};
    sys.devices.devices = runbook_tb_devices(authorized);
    module = &fake;
    HostFixture(sys).module_loaded();
  }
  testing::CliRun run(std::vector<std::string> args = {"doctor"}) {
    return run_egpuctl(std::move(args), module, sys.setup());
  }
  // The checks as JSON, by "id subject".
  std::map<std::string, nlohmann::json> checks() {
    last = run({"doctor", "--json"});
    if (last.out.empty()) ADD_FAILURE() << last.err;
    std::map<std::string, nlohmann::json> m;
    const nlohmann::json j = nlohmann::json::parse(last.out);
    for (const auto& c : j["checks"]) {
      std::string key = c["id"];
      if (!c["subject"].is_null()) key += " " + c["subject"].get<std::string>();
      m[key] = c;
    }
    return m;
  }
  FakeControl fake;
  FakeControl* module = nullptr;
  FakeSystem sys;
  testing::CliRun last;
};

TEST_F(DoctorTest, RunbookHostHealthyButForTheNicName) {
  HostFixture(sys).runbook_host().secure_boot(true);
  with_module();
  auto c = checks();
  EXPECT_EQ(last.rc, 1) << last.out;
  for (const char* id :
       {"iommu.firmware", "iommu.cmdline", "iommu.groups", "module.loaded", "module.signature",
        "secureboot.state", "secureboot.mok", "gpu.iommu_group 0000:30:00.0",
        "gpu.driver 0000:30:00.0", "gpu.reset_method 0000:30:00.0", "tb.security domain0",
        "tb.security domain1", "tb.iommu_dma_protection domain1", "tb.deauthorization domain1",
        "pve.vm vm 100"})
    EXPECT_EQ(c[id]["level"], "OK") << id << ": " << c[id].dump();
  EXPECT_EQ(c["net.name enp88s0"]["level"], "WARN");
  EXPECT_THAT(c["net.name enp88s0"]["fix"].get<std::string>(),
              HasSubstr("MACAddress=88:ae:dd:72:13:25"));
  EXPECT_EQ(c["iommu.cmdline"]["evidence"], "intel_iommu=on iommu=pt");
  EXPECT_EQ(c["gpu.iommu_group 0000:30:00.0"]["evidence"],
            "group 25 holds only its own functions");
  EXPECT_EQ(c["gpu.driver 0000:30:00.0"]["evidence"], "0000:30:00.0, 0000:30:00.1 bound to vfio-pci");
  EXPECT_TRUE(c["gpu.driver 0000:30:00.0"]["fix"].is_null());
  EXPECT_EQ(c.count("tb.unauthorized 1-1"), 0u);
  EXPECT_EQ(c.count("tb.cable 3-3"), 0u);
}

TEST_F(DoctorTest, TextOutput) {
  HostFixture(sys).runbook_host().secure_boot(true);
  with_module();
  const auto r = run();
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.out, HasSubstr("OK    iommu.firmware: ACPI DMAR table present (Intel VT-d)\n"));
  EXPECT_THAT(r.out, HasSubstr("WARN  net.name enp88s0: enp88s0 (PCI 0000:58:00.0) is named "
                               "after PCI bus 88"));
  EXPECT_THAT(r.out, HasSubstr("\n      fix: pin it by MAC"));
  EXPECT_THAT(r.out, HasSubstr(" ok, 1 warn, 0 fail\n"));
}

TEST_F(DoctorTest, UsbOnlyCable) {
  HostFixture(sys).usb_only_host();
  auto c = checks();
  EXPECT_EQ(last.rc, 2);
  EXPECT_EQ(c["tb.cable 3-3"]["level"], "FAIL");
  EXPECT_THAT(c["tb.cable 3-3"]["evidence"].get<std::string>(),
              HasSubstr("'Blackmagic Design eGPU Pro' (1edb:bd3b) but there is no Thunderbolt "
                        "device"));
  EXPECT_THAT(c["tb.cable 3-3"]["fix"].get<std::string>(), HasSubstr("Thunderbolt 3/4 cable"));
  EXPECT_EQ(c["gpu.present"]["level"], "WARN");
  // The NIC keeps its bus without the eGPU, but a domain could shift it.
  EXPECT_EQ(c["net.name enp86s0"]["level"], "WARN");
}

TEST_F(DoctorTest, UsbEnclosureWithThunderboltIsFine) {
  HostFixture(sys).runbook_host().usb("3-3", "1edb", "bd3b", "Blackmagic Design", "eGPU Pro");
  auto c = checks();
  EXPECT_EQ(c["tb.cable 3-3"]["level"], "OK");
}

// An I226 NIC `ifname` at `bdf`, alone below root port `port`.
void nic_below(HostFixture& f, const std::string& port, const std::string& bdf,
               const std::string& ifname) {
  unsigned domain = 0, bus = 0;
  ASSERT_TRUE(parse_bdf(bdf, domain, bus));
  f.pci(port, 0x8086, 0x7e38, 0x060400, "pcieport", "").bridge(port, bus);
  f.pci(bdf, 0x8086, 0x125b, 0x020000, "igc", "").under(bdf, port);
  f.net(ifname, bdf, "88:ae:dd:72:13:25");
}

TEST_F(DoctorTest, NicAfterTheThunderboltPortNamesPortAndBus) {
  // The runbook's NUC without the module: the TB4 root ports are found as
  // hot-plug ports beside the NHIs, the NIC's bus 0x56 comes after both.
  HostFixture(sys).runbook_host(false);
  auto c = checks();
  const auto& nic = c["net.name enp86s0"];
  EXPECT_EQ(nic["level"], "WARN");
  EXPECT_EQ(nic["evidence"],
            "enp86s0 (PCI 0000:56:00.0) is named after PCI bus 86 (0x56), enumerated after "
            "Thunderbolt ports 0000:00:07.0 (secondary bus 44 = 0x2c, a hot-plug port beside "
            "Thunderbolt controller 0000:00:0d.2), 0000:00:07.2 (secondary bus 66 = 0x42, a "
            "hot-plug port beside Thunderbolt controller 0000:00:0d.2) in PCI domain 0000: an "
            "eGPU there adds PCIe bridges that can renumber bus 86 and rename enp86s0 (network "
            "down after reboot)");
  EXPECT_THAT(nic["fix"].get<std::string>(),
              HasSubstr("/etc/systemd/network/10-lan0.link with [Match] "
                        "MACAddress=88:ae:dd:72:13:25 and [Link] Name=lan0"));
}

TEST_F(DoctorTest, NicPortFromTheModulesDeviceFunctions) {
  HostFixture(sys).runbook_host();
  with_module();
  auto c = checks();
  EXPECT_THAT(c["net.name enp88s0"]["evidence"].get<std::string>(),
              HasSubstr("0000:00:07.0 (secondary bus 44 = 0x2c, the bridge above 0000:2c:00.0, a "
                        "function of a Thunderbolt device)"));
}

TEST_F(DoctorTest, NicBeforeTheThunderboltPortIsSafe) {
  HostFixture f(sys);
  f.runbook_host(false);
  nic_below(f, "0000:00:1b.0", "0000:01:00.0", "enp1s0");
  auto c = checks();
  EXPECT_EQ(c["net.name enp1s0"]["level"], "OK");
  EXPECT_EQ(c["net.name enp1s0"]["evidence"],
            "enp1s0 (PCI 0000:01:00.0) is named after PCI bus 1 (0x01), enumerated before "
            "Thunderbolt ports 0000:00:07.0 (secondary bus 44 = 0x2c, a hot-plug port beside "
            "Thunderbolt controller 0000:00:0d.2), 0000:00:07.2 (secondary bus 66 = 0x42, a "
            "hot-plug port beside Thunderbolt controller 0000:00:0d.2) in PCI domain 0000: the "
            "buses an eGPU adds come after it");
  EXPECT_TRUE(c["net.name enp1s0"]["fix"].is_null());
  EXPECT_EQ(c["net.name enp86s0"]["level"], "WARN");
}

TEST_F(DoctorTest, NicInAnotherPciDomainIsSafe) {
  HostFixture f(sys);
  f.runbook_host(false);
  f.pci("0001:05:00.0", 0x8086, 0x1533, 0x020000, "igb", "30");
  f.net("enP1p5s0", "0001:05:00.0", "88:ae:dd:72:13:27");
  auto c = checks();
  EXPECT_EQ(c["net.name enP1p5s0"]["level"], "OK");
  EXPECT_EQ(c["net.name enP1p5s0"]["evidence"],
            "enP1p5s0 (PCI 0001:05:00.0) is named after PCI bus 5 (0x05), in PCI domain 0001; "
            "the Thunderbolt ports are in domain 0000: an eGPU renumbers buses of its own domain "
            "only");
}

TEST_F(DoctorTest, OnboardNicNameIsNotBusNamed) {
  HostFixture f(sys);
  f.runbook_host(false);
  f.pci("0000:00:1f.6", 0x8086, 0x550a, 0x020000, "e1000e", "17");
  f.net("eno1", "0000:00:1f.6", "88:ae:dd:72:13:28");
  sys.sysfs.file("/class/net/vmbr0/address", "88:ae:dd:72:13:28\n");  // a bridge: no device
  auto c = checks();
  EXPECT_EQ(c["net.name eno1"]["level"], "OK");
  EXPECT_EQ(c["net.name eno1"]["evidence"],
            "eno1 (0000:00:1f.6) is not named after a PCI bus (onboard index, slot, MAC or a "
            "chosen name): a bus shift cannot rename it");
  EXPECT_EQ(c.count("net.name vmbr0"), 0u);
}

TEST_F(DoctorTest, NicWithoutThunderboltIsSafe) {
  HostFixture f(sys);
  f.cmdline("quiet intel_iommu=on").acpi_table("DMAR");
  nic_below(f, "0000:00:1c.0", "0000:56:00.0", "enp86s0");
  auto c = checks();
  EXPECT_EQ(c["net.name enp86s0"]["level"], "OK");
  EXPECT_EQ(c["net.name enp86s0"]["evidence"],
            "enp86s0 (PCI 0000:56:00.0) is named after PCI bus 86 (0x56); there is no "
            "Thunderbolt controller through which an eGPU could shift it");
}

TEST_F(DoctorTest, NicWithAThunderboltControllerButNoPortIsAWarning) {
  HostFixture f(sys);
  f.tb_domain(0);
  f.pci("0000:56:00.0", 0x8086, 0x125b, 0x020000, "igc", "2");
  f.net("enp86s0", "0000:56:00.0", "88:ae:dd:72:13:25");
  auto c = checks();
  EXPECT_EQ(c["net.name enp86s0"]["level"], "WARN");
  EXPECT_THAT(c["net.name enp86s0"]["evidence"].get<std::string>(),
              HasSubstr("a Thunderbolt controller is present but sysfs does not show the PCI port "
                        "it tunnels through"));
}

TEST_F(DoctorTest, DirtyIommuGroup) {
  HostFixture(sys).runbook_host().dirty_group();
  with_module();
  auto c = checks();
  EXPECT_EQ(c["gpu.iommu_group 0000:30:00.0"]["level"], "WARN");
  EXPECT_EQ(c["gpu.iommu_group 0000:30:00.0"]["evidence"],
            "group 25 also holds 0000:00:1f.3 (8086:7e28): they go to the VM with the GPU");
}

TEST_F(DoctorTest, BadVmConfigs) {
  HostFixture(sys).runbook_host().bad_vm();
  with_module();
  auto c = checks();
  EXPECT_EQ(last.rc, 2);
  const auto& vm100 = c["pve.vm vm 100"];
  EXPECT_EQ(vm100["level"], "FAIL");
  const std::string ev = vm100["evidence"], fix = vm100["fix"];
  EXPECT_THAT(ev, HasSubstr("machine is 'default i440fx', not q35"));
  EXPECT_THAT(ev, HasSubstr("hostpci0 (0000:30:00.0) has no pcie=1"));
  EXPECT_THAT(ev, HasSubstr("hostpci1 passes audio function 0000:30:00.1 without rombar=0"));
  EXPECT_THAT(fix, HasSubstr("qm set 100 -machine q35"));
  EXPECT_THAT(fix, HasSubstr("qm set 100 -hostpci0 0000:30:00.0,rombar=1,pcie=1"));
  EXPECT_THAT(fix, HasSubstr("qm set 100 -hostpci1 0000:30:00.1,rombar=0"));
  const auto& vm101 = c["pve.vm vm 101"];
  EXPECT_EQ(vm101["level"], "WARN");
  EXPECT_THAT(vm101["evidence"].get<std::string>(),
              HasSubstr("passes GPU 0000:30:00.0 but not its function 0000:30:00.1 (1002:aaf8)"));
}

TEST_F(DoctorTest, NothingBoundNoModule) {
  HostFixture(sys).runbook_host(true, false, false);
  auto c = checks();
  EXPECT_EQ(last.rc, 2);
  EXPECT_EQ(c["module.loaded"]["level"], "FAIL");
  EXPECT_THAT(c["module.loaded"]["fix"].get<std::string>(), HasSubstr("modprobe egpu_gate"));
  EXPECT_EQ(c["gpu.driver 0000:30:00.0"]["level"], "WARN");
  EXPECT_EQ(c["gpu.driver 0000:30:00.0"]["evidence"],
            "0000:30:00.0 (1002:687f) is bound to amdgpu; 0000:30:00.1 (1002:aaf8) is bound to "
            "snd_hda_intel");
  EXPECT_THAT(c["gpu.driver 0000:30:00.0"]["fix"].get<std::string>(),
              HasSubstr("--bind 1002:687f,1002:aaf8"));
  EXPECT_EQ(c["gpu.reset_method 0000:30:00.0"]["level"], "FAIL");
  EXPECT_THAT(c["gpu.reset_method 0000:30:00.0"]["evidence"].get<std::string>(),
              HasSubstr("Inappropriate ioctl for device"));
  EXPECT_EQ(nlohmann::json::parse(last.out)["transport"], "sysfs");
}

TEST_F(DoctorTest, HandledButNotFirst) {
  HostFixture(sys).runbook_host(true, true, false);
  with_module();
  auto c = checks();
  EXPECT_EQ(c["gpu.reset_method 0000:30:00.0"]["level"], "WARN");
}

TEST_F(DoctorTest, UnauthorizedDevices) {
  HostFixture(sys).runbook_host(false);
  auto c = checks();
  EXPECT_EQ(c["tb.unauthorized 1-1"]["level"], "WARN");
  EXPECT_THAT(c["tb.unauthorized 1-1"]["evidence"].get<std::string>(),
              HasSubstr("1-1 (Blackmagic Design eGPU Pro) is not authorized (module egpu_gate "
                        "is not loaded"));
  with_module(false);
  c = checks();
  EXPECT_THAT(c["tb.unauthorized 1-1"]["evidence"].get<std::string>(),
              HasSubstr("although rule 1 matches it: pending (waiting for the administrator)"));
  sys.devices.devices[2].ruleId.reset();
  sys.devices.devices[2].decision = EGPU_TB_DECISION_NO_RULE;
  c = checks();
  EXPECT_THAT(c["tb.unauthorized 1-1"]["fix"].get<std::string>(),
              HasSubstr("egpuctl tb allow 1-1"));
}

TEST_F(DoctorTest, SecureBootKeyNotEnrolled) {
  HostFixture(sys).runbook_host().secure_boot(false);
  with_module();
  auto c = checks();
  EXPECT_EQ(c["secureboot.mok"]["level"], "FAIL");
  EXPECT_THAT(c["secureboot.mok"]["fix"].get<std::string>(),
              HasSubstr("mokutil --import /var/lib/dkms/mok.pub"));
}

TEST_F(DoctorTest, UnsignedModuleUnderSecureBoot) {
  HostFixture(sys)
      .runbook_host()
      .program("modinfo egpu_gate", 0, "filename: /lib/modules/x/egpu_gate.ko\nversion: 0.1.0\n")
      .program("mokutil --sb-state", 0, "SecureBoot enabled\n");
  auto c = checks();
  EXPECT_EQ(c["module.signature"]["level"], "FAIL");
  HostFixture(sys).program("mokutil --sb-state", 0, "SecureBoot disabled\n");
  c = checks();
  EXPECT_EQ(c["module.signature"]["level"], "OK");
  EXPECT_EQ(c["secureboot.state"]["evidence"], "Secure Boot disabled");
}

TEST_F(DoctorTest, NoIommu) {
  HostFixture(sys).cmdline("root=/dev/sda1 quiet").pci("0000:03:00.0", 0x1002, 0x687f, 0x030000,
                                                       "amdgpu", "");
  auto c = checks();
  EXPECT_EQ(last.rc, 2);
  EXPECT_EQ(c["iommu.firmware"]["level"], "FAIL");
  EXPECT_EQ(c["iommu.cmdline"]["level"], "WARN");
  EXPECT_EQ(c["iommu.groups"]["level"], "FAIL");
  EXPECT_EQ(c["gpu.iommu_group 0000:03:00.0"]["level"], "FAIL");
  HostFixture(sys).cmdline("quiet intel_iommu=off");
  c = checks();
  EXPECT_EQ(c["iommu.cmdline"]["level"], "FAIL");
}

TEST_F(DoctorTest, ThunderboltDomainSettings) {
  HostFixture(sys).runbook_host().tb_domain(1, "dponly", false, false).tb_domain(0, "none");
  auto c = checks();
  EXPECT_EQ(c["tb.security domain1"]["level"], "FAIL");
  EXPECT_EQ(c["tb.security domain0"]["level"], "WARN");
  EXPECT_EQ(c["tb.iommu_dma_protection domain1"]["level"], "WARN");
  EXPECT_EQ(c["tb.deauthorization domain1"]["level"], "WARN");
}

TEST_F(DoctorTest, ModuleVersionMismatch) {
  HostFixture(sys).runbook_host();
  with_module();
  fake.status_reply.version = "0.0.1";
  auto c = checks();
  EXPECT_EQ(c["module.loaded"]["level"], "WARN");
}

TEST(ParsePveConfig, FormsOfHostPci) {
  const PveVmConfig vm = parse_pve_config(
      "100",
      "machine: pc-q35-9.0\nhostpci0: host=30:00,pcie=1\nhostpci1: 0000:31:00.0;0000:31:00.1,"
      "rombar=0\nhookscript: local:snippets/egpu-gate-hook.sh\n[snap1]\nhostpci5: 40:00.0\n",
      {"0000:30:00.0", "0000:30:00.1", "0000:31:00.0"});
  EXPECT_EQ(vm.machine, "pc-q35-9.0");
  EXPECT_EQ(vm.hookscript, "local:snippets/egpu-gate-hook.sh");
  ASSERT_EQ(vm.hostpci.size(), 2u);
  EXPECT_TRUE(vm.hostpci[0].allFunctions);
  EXPECT_EQ(vm.hostpci[0].bdfs, (std::vector<std::string>{"0000:30:00.0", "0000:30:00.1"}));
  EXPECT_EQ(vm.hostpci[0].pcie, "1");
  EXPECT_EQ(vm.hostpci[1].bdfs, (std::vector<std::string>{"0000:31:00.0", "0000:31:00.1"}));
  EXPECT_EQ(vm.hostpci[1].rombar, "0");
}

}  // namespace
}  // namespace egpuctl
