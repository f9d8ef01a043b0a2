// PciTopology against fake sysfs trees: the runbook's NUC (integrated
// Thunderbolt 4), a discrete Titan Ridge controller, and the fallbacks for
// older or partial sysfs trees.
#include "pci_topology.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_system.h"

namespace egpuctl {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::FakeSystem;
using testing::HostFixture;

std::vector<std::string> bdfs(const std::vector<ThunderboltPort>& ports) {
  std::vector<std::string> out;
  for (const ThunderboltPort& p : ports) out.push_back(p.bdf);
  return out;
}

TEST(ParseBdf, FormsAndErrors) {
  unsigned domain = 9, bus = 9;
  EXPECT_TRUE(parse_bdf("0001:58:00.0", domain, bus));
  EXPECT_EQ(domain, 1u);
  EXPECT_EQ(bus, 0x58u);
  EXPECT_FALSE(parse_bdf("58:00.0", domain, bus));
  EXPECT_FALSE(parse_bdf("0000:58:00.0:pcie004", domain, bus));
  EXPECT_FALSE(parse_bdf("pci0000:00", domain, bus));
  EXPECT_FALSE(parse_bdf("0000:5g:00.0", domain, bus));
}

TEST(PciTopology, RunbookNucHasTwoTb4RootPorts) {
  FakeSystem sys;
  HostFixture(sys).runbook_host();
  const PciTopology topo(sys.sysfs);
  EXPECT_THAT(topo.controllers(), ElementsAre("0000:00:0d.2", "0000:00:0d.3"));
  EXPECT_EQ(topo.parent("0000:30:00.0"), "0000:2f:00.0");
  EXPECT_EQ(topo.parent("0000:00:07.0"), "");
  EXPECT_EQ(topo.parent("0000:99:00.0"), std::nullopt);
  EXPECT_TRUE(topo.hotplug_capable("0000:00:07.0"));
  EXPECT_FALSE(topo.hotplug_capable("0000:00:1c.0"));
  const auto ports = topo.thunderbolt_ports();
  ASSERT_THAT(bdfs(ports), ElementsAre("0000:00:07.0", "0000:00:07.2"));
  EXPECT_EQ(ports[0].secondary, 0x2cu);
  EXPECT_EQ(ports[0].why, "a hot-plug port beside Thunderbolt controller 0000:00:0d.2");
  EXPECT_EQ(ports[1].secondary, 0x42u);
}

TEST(PciTopology, PortAboveTheTopmostFunctionOfAThunderboltDevice) {
  FakeSystem sys;
  HostFixture(sys).runbook_host();
  sys.sysfs.remove_prefix("/bus/pci/devices/0000:00:07.0/0000:00:07.0:pcie004");
  sys.sysfs.remove_prefix("/bus/pci/devices/0000:00:07.2/0000:00:07.2:pcie004");
  const PciTopology topo(sys.sysfs);
  EXPECT_THAT(topo.thunderbolt_ports(), IsEmpty());
  // The module lists only some of the device's functions.
  const auto ports = topo.thunderbolt_ports({"0000:30:00.0", "0000:2c:00.0"});
  ASSERT_THAT(bdfs(ports), ElementsAre("0000:00:07.0"));
  EXPECT_EQ(ports[0].why, "the bridge above 0000:2c:00.0, a function of a Thunderbolt device");
  // Or sysfs marks them removable (behind an external-facing port).
  sys.sysfs.file("/bus/pci/devices/0000:2c:00.0/removable", "removable\n");
  sys.sysfs.file("/bus/pci/devices/0000:2d:01.0/removable", "removable\n");
  sys.sysfs.file("/bus/pci/devices/0000:00:07.0/removable", "fixed\n");
  EXPECT_THAT(bdfs(topo.thunderbolt_ports()), ElementsAre("0000:00:07.0"));
}

// A discrete Titan Ridge controller behind PCH root port 00:1c.4: upstream
// port 03:00.0, downstream ports 04:00.0 (NHI 05:00.0), 04:01.0 (PCIe
// hot-plug, reported by an acpiphp/pciehp slot), 04:02.0 (xHCI).
TEST(PciTopology, DiscreteControllerPortBesideTheNhisPort) {
  FakeSystem sys;
  HostFixture f(sys);
  f.pci("0000:00:1c.4", 0x8086, 0xa33c, 0x060400, "pcieport", "").bridge("0000:00:1c.4", 3);
  f.pci("0000:03:00.0", 0x8086, 0x15e7, 0x060400, "pcieport", "").under("0000:03:00.0",
                                                                        "0000:00:1c.4");
  f.bridge("0000:03:00.0", 4);
  for (const char* port : {"0000:04:00.0", "0000:04:01.0", "0000:04:02.0"})
    f.pci(port, 0x8086, 0x15e7, 0x060400, "pcieport", "").under(port, "0000:03:00.0");
  f.bridge("0000:04:00.0", 5).bridge("0000:04:01.0", 6).bridge("0000:04:02.0", 0x3a);
  f.pci("0000:05:00.0", 0x8086, 0x15eb, 0x088000, "thunderbolt", "").under("0000:05:00.0",
                                                                           "0000:04:00.0");
  f.tb_domain(0).tb_nhi(0, "0000:05:00.0");
  sys.sysfs.file("/bus/pci/slots/1/address", "0000:06:00\n");
  const PciTopology topo(sys.sysfs);
  EXPECT_THAT(topo.controllers(), ElementsAre("0000:05:00.0"));
  EXPECT_TRUE(topo.hotplug_capable("0000:04:01.0"));
  EXPECT_FALSE(topo.hotplug_capable("0000:04:02.0"));
  const auto ports = topo.thunderbolt_ports();
  ASSERT_THAT(bdfs(ports), ElementsAre("0000:04:01.0"));
  EXPECT_EQ(ports[0].secondary, 6u);
  EXPECT_EQ(ports[0].why, "a hot-plug port beside Thunderbolt controller 0000:05:00.0");
}

TEST(PciTopology, SecondaryBusFallbacks) {
  FakeSystem sys;
  HostFixture f(sys);
  f.pci("0000:00:07.0", 0x8086, 0x7ec4, 0x060400, "pcieport", "");
  f.pci("0000:00:07.1", 0x8086, 0x7ec5, 0x060400, "pcieport", "");
  f.pci("0000:00:07.2", 0x8086, 0x7ec6, 0x060400, "pcieport", "");
  // Kernels before secondary_bus_number: the bus below it.
  sys.sysfs.dir("/bus/pci/devices/0000:00:07.0/pci_bus/0000:2c");
  // Or a function below it.
  f.pci("0000:42:00.0", 0x8086, 0x125b, 0x020000, "igc", "").under("0000:42:00.0",
                                                                   "0000:00:07.1");
  const PciTopology topo(sys.sysfs);
  EXPECT_EQ(topo.secondary_bus("0000:00:07.0"), 0x2cu);
  EXPECT_EQ(topo.secondary_bus("0000:00:07.1"), 0x42u);
  EXPECT_EQ(topo.secondary_bus("0000:00:07.2"), std::nullopt);
}

TEST(PciTopology, NoThunderbolt) {
  FakeSystem sys;
  HostFixture(sys).pci("0000:00:1c.0", 0x8086, 0x7e38, 0x060400, "pcieport", "").bridge(
      "0000:00:1c.0", 1, true);
  const PciTopology topo(sys.sysfs);
  EXPECT_FALSE(topo.has_thunderbolt());
  EXPECT_THAT(topo.controllers(), IsEmpty());
  EXPECT_THAT(topo.thunderbolt_ports(), IsEmpty());
}

}  // namespace
}  // namespace egpuctl
