// gpu list's sysfs fallback (module not loaded) and gpu reset-method, against
// fake sysfs trees.
#include "gpu_sysfs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "fake_system.h"

namespace egpuctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::FakeControl;
using testing::FakeSystem;
using testing::HostFixture;
using testing::run_egpuctl;

const std::string kRm = "/bus/pci/devices/0000:30:00.0/reset_method";

struct GpuSysfsTest : ::testing::Test {
  // The runbook's host: an iGPU, a NIC, the Vega 56 eGPU and its HDMI audio
  // on vfio-pci (IOMMU group 25), a USB controller in the eGPU's slot.
  void SetUp() override {
    HostFixture(sys)
        .pci("0000:00:02.0", 0x8086, 0x7d55, 0x030000, "i915", "1", "flr bus")
        .pci("0000:00:1f.6", 0x8086, 0x550a, 0x020000, "e1000e", "9", "flr")
        .pci("0000:30:00.0", 0x1002, 0x687f, 0x030000, "vfio-pci", "25", "device_specific bus")
        .pci("0000:30:00.1", 0x1002, 0xaaf8, 0x040300, "vfio-pci", "25", "bus")
        .pci("0000:31:00.0", 0x1b73, 0x1100, 0x0c0330, "xhci_hcd", "26", "flr");
  }
  testing::CliRun run(std::vector<std::string> args, FakeControl* module = nullptr) {
    return run_egpuctl(std::move(args), module, sys.setup());
  }
  FakeSystem sys;
};

TEST_F(GpuSysfsTest, ListFallsBackToSysfsWithoutTheModule) {
  const auto r = run({"gpu", "list"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.err,
            "egpuctl: module egpu_gate is not loaded: using sysfs (/fake/sys): GPUs by PCI "
            "class, no reset families or statistics\n");
  EXPECT_EQ(r.out,
            "BDF           ID         CLASS    DRIVER    IOMMU_GROUP  RESET_METHOD\n"
            "0000:00:02.0  8086:7d55  display  i915      1            flr bus\n"
            "0000:30:00.0  1002:687f  display  vfio-pci  25           device_specific bus\n"
            "0000:30:00.1  1002:aaf8  audio    vfio-pci  25           bus\n");
}

TEST_F(GpuSysfsTest, ListJsonSaysTheTransport) {
  for (const auto& args : {std::vector<std::string>{"gpu", "list", "--json"},
                           std::vector<std::string>{"--json", "gpu", "list"}}) {
    const auto r = run(args);
    EXPECT_EQ(r.rc, 0);
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["transport"], "sysfs");
    ASSERT_EQ(j["gpus"].size(), 3u);
    const auto& a = j["gpus"][2];
    EXPECT_EQ(a["bdf"], "0000:30:00.1");
    EXPECT_EQ(a["id"], "1002:aaf8");
    EXPECT_EQ(a["vendor"], 0x1002);
    EXPECT_EQ(a["device"], 0xaaf8);
    EXPECT_EQ(a["class"], "audio");
    EXPECT_EQ(a["driver"], "vfio-pci");
    EXPECT_EQ(a["iommu_group"], "25");
    EXPECT_EQ(a["reset_method"], nlohmann::json::array({"bus"}));
  }
}

TEST_F(GpuSysfsTest, ListShowsWhatSysfsLacksAsDashOrNull) {
  FakeSystem bare;
  HostFixture(bare).pci("0000:05:00.0", 0x10de, 0x1c82, 0x030000, "", "");
  auto r = run_egpuctl({"gpu", "list"}, nullptr, bare.setup());
  EXPECT_EQ(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr("0000:05:00.0  10de:1c82  display  -       -            -\n"));
  r = run_egpuctl({"gpu", "list", "--json"}, nullptr, bare.setup());
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["gpus"][0]["driver"].is_null());
  EXPECT_TRUE(j["gpus"][0]["iommu_group"].is_null());
  EXPECT_TRUE(j["gpus"][0]["reset_method"].is_null());
}

TEST_F(GpuSysfsTest, ListWithoutAnyGpu) {
  FakeSystem empty;
  HostFixture(empty).pci("0000:00:1f.6", 0x8086, 0x550a, 0x020000, "e1000e", "9");
  const auto r = run_egpuctl({"gpu", "list"}, nullptr, empty.setup());
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, "no GPU (PCI display function) in sysfs\n");
  EXPECT_EQ(nlohmann::json::parse(run_egpuctl({"gpu", "list", "--json"}, nullptr, empty.setup()).out),
            nlohmann::json::parse(R"({"transport": "sysfs", "gpus": []})"));
}

TEST_F(GpuSysfsTest, ListWithTheModuleUsesNetlink) {
  FakeControl fake;
  const auto r = run({"gpu", "list", "--json"}, &fake);
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(nlohmann::json::parse(r.out)["transport"], "netlink");
  EXPECT_TRUE(sys.sysfs.writes.empty());
}

TEST_F(GpuSysfsTest, ListOtherModuleErrorsAreNotHidden) {
  FakeControl fake;
  fake.error = kernel_error("list GPUs", EPERM);
  const auto r = run({"gpu", "list"}, &fake);
  EXPECT_EQ(r.rc, 4);
  EXPECT_EQ(r.out, "");
}

TEST_F(GpuSysfsTest, ResetMethodShows) {
  auto r = run({"gpu", "reset-method", "30:00.0"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, "0000:30:00.0: reset_method: device_specific bus\n");
  EXPECT_FALSE(r.connected);
  EXPECT_TRUE(sys.sysfs.writes.empty());
  r = run({"gpu", "reset-method", "--json", "0000:30:00.1"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(nlohmann::json::parse(r.out),
            nlohmann::json::parse(
                R"({"bdf": "0000:30:00.1", "transport": "sysfs", "reset_method": ["bus"]})"));
}

TEST_F(GpuSysfsTest, ResetMethodSetsWithoutTheModule) {
  const auto r = run({"gpu", "reset-method", "0000:30:00.0", "bus", "flr"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_FALSE(r.connected);
  EXPECT_THAT(sys.sysfs.writes, ElementsAre(std::pair<std::string, std::string>(kRm, "bus flr")));
  EXPECT_EQ(r.out, "0000:30:00.0: reset_method set: bus flr\n");
}

TEST_F(GpuSysfsTest, ResetMethodDefaultAlone) {
  EXPECT_EQ(run({"gpu", "reset-method", "0000:30:00.0", "default"}).rc, 0);
  EXPECT_THAT(sys.sysfs.writes, ElementsAre(std::pair<std::string, std::string>(kRm, "default")));
  const auto r = run({"gpu", "reset-method", "0000:30:00.0", "default", "bus"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_THAT(r.err, HasSubstr("'default' stands alone"));
  EXPECT_EQ(sys.sysfs.writes.size(), 1u);
}

TEST_F(GpuSysfsTest, ResetMethodKernelRefusal) {
  sys.sysfs.write_errors[kRm] = EINVAL;
  const auto r = run({"gpu", "reset-method", "0000:30:00.0", "device_specific"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err,
            "egpuctl: writing 'device_specific' to /fake/sys" + kRm +
                ": Invalid argument: the kernel refused it: a method this device does not "
                "support (device_specific needs module egpu_gate loaded and the GPU handled: see "
                "'egpuctl gpu list')\n");
}

TEST_F(GpuSysfsTest, ResetMethodNeedsRoot) {
  sys.sysfs.write_errors[kRm] = EACCES;
  const auto r = run({"gpu", "reset-method", "0000:30:00.0", "bus"});
  EXPECT_EQ(r.rc, 4);
  EXPECT_THAT(r.err, HasSubstr("egpuctl needs root"));
}

TEST_F(GpuSysfsTest, ResetMethodErrors) {
  auto r = run({"gpu", "reset-method", "0000:77:00.0"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "egpuctl: no PCI device 0000:77:00.0 (see lspci -D)\n");
  r = run({"gpu", "reset-method", "0000:77:00.0", "bus"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "egpuctl: no PCI device 0000:77:00.0 (see lspci -D)\n");
  FakeSystem old;
  HostFixture(old).pci("0000:05:00.0", 0x1002, 0x687f, 0x030000, "", "");
  r = run_egpuctl({"gpu", "reset-method", "0000:05:00.0", "bus"}, nullptr, old.setup());
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("0000:05:00.0 has no reset_method in sysfs"));
  EXPECT_TRUE(old.sysfs.writes.empty());
  r = run_egpuctl({"gpu", "reset-method", "0000:05:00.0"}, nullptr, old.setup());
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, "0000:05:00.0: reset_method: - (no reset method)\n");
}

TEST_F(GpuSysfsTest, ResetMethodUsage) {
  EXPECT_EQ(run({"gpu", "reset-method"}).rc, 2);
  EXPECT_EQ(run({"gpu", "reset-method", "30:00"}).rc, 2);
  const auto r = run({"gpu", "reset-method", "0000:30:00.0", "Bus;reboot"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_THAT(r.err, HasSubstr("'Bus;reboot' is not a reset method name"));
  EXPECT_TRUE(sys.sysfs.writes.empty());
}

TEST(GpuSysfs, ClassNamesAndMethods) {
  PciFunction f;
  f.classCode = 0x030200;
  EXPECT_EQ(pci_class_name(f), "display");
  f.classCode = 0x040300;
  EXPECT_EQ(pci_class_name(f), "audio");
  f.classCode = 0x0c0330;
  EXPECT_EQ(pci_class_name(f), "0x0c0330");
  f.resetMethod = " device_specific  bus\n";
  EXPECT_THAT(reset_methods(f), ElementsAre("device_specific", "bus"));
}

}  // namespace
}  // namespace egpuctl
