// Proxmox VE VM configs and PCI resource mappings (pve_config.h).
#include "pve_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_system.h"

namespace egpuctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using Ids = std::vector<std::string>;

// As the Proxmox GUI writes it (Datacenter > Resource Mappings).
constexpr const char kPciCfg[] =
    "# written by pvesh\n"
    "egpu\n"
    "\tdescription Blackmagic eGPU Pro, Vega 56\n"
    "\tmap id=1002:687f,iommugroup=25,node=pve,path=0000:30:00,subsystem-id=0x1002:0x0B36\n"
    "\tmap id=1002:687f,node=pve2,path=0000:0a:00.0;0000:0a:00.1\n"
    "\tmdev 0\n"
    "\n"
    "twins\n"
    "\tmap id=1002:687f,node=pve,path=0000:40:00.0\n"
    "\tmap id=1002:67df,node=pve,path=0000:30:00.0\n"
    "\n"
    "nic\r\n"
    "\tmap node=pve,path=0000:58:00.0,id=8086:125b,description=\"I226, onboard\"\r\n";

TEST(PvePciMappings, ParsesSectionsAndMaps) {
  const PvePciMappings m = parse_pve_pci_mappings(kPciCfg);
  EXPECT_THAT(m.errors, IsEmpty());
  ASSERT_EQ(m.ids.size(), 3u);
  const auto& egpu = m.ids.at("egpu");
  ASSERT_EQ(egpu.size(), 2u);
  EXPECT_EQ(egpu[0].node, "pve");
  EXPECT_EQ(egpu[0].path, Ids{"0000:30:00"});
  EXPECT_EQ(egpu[0].id, "1002:687f");
  EXPECT_EQ(egpu[0].subsystemId, "1002:0b36");
  EXPECT_EQ(egpu[0].iommuGroup, "25");
  EXPECT_EQ(egpu[1].path, (Ids{"0000:0a:00.0", "0000:0a:00.1"}));
  EXPECT_EQ(m.ids.at("nic")[0].path, Ids{"0000:58:00.0"});
  EXPECT_EQ(m.ids.at("nic")[0].id, "8086:125b");
}

TEST(PvePciMappings, BadEntriesAreNamedAndSkipped) {
  const PvePciMappings m = parse_pve_pci_mappings(
      "gpu\n"
      "\tmap id=1002:687f,path=0000:30:00\n"
      "\tmap node=pve,path=30:00.0;zz:00.0\n"
      "\tmap node=pve,id=1002:687f\n"
      "\tmap node=pve,path=0000:31:00.0\n"
      "bad id!\n"
      "\tmap node=pve,path=0000:32:00.0\n"
      "\n"
      "\tmap node=pve,path=0000:33:00.0\n");
  ASSERT_EQ(m.ids.count("gpu"), 1u);
  ASSERT_EQ(m.ids.at("gpu").size(), 1u);
  EXPECT_EQ(m.ids.at("gpu")[0].path, Ids{"0000:31:00.0"});
  EXPECT_THAT(m.errors, ElementsAre("line 2: mapping gpu: no node=",
                                    "line 3: mapping gpu: 'zz:00.0' in path is not a PCI address",
                                    "line 4: mapping gpu: no path=",
                                    "line 6: 'bad id!' is not a mapping ID"));
  EXPECT_EQ(m.ids.size(), 1u);
}

PveHost host_with(const std::string& node, const Ids& present) {
  PveHost h;
  h.node = node;
  h.present = present;
  h.mappings = parse_pve_pci_mappings(kPciCfg);
  return h;
}

TEST(ParsePveConfigMapping, ResolvesForThisNode) {
  const PveVmConfig vm = parse_pve_config(
      "100", "machine: q35\nhostpci0: mapping=egpu,pcie=1\n",
      host_with("pve", {"0000:30:00.0", "0000:30:00.1", "0000:0a:00.0"}));
  ASSERT_EQ(vm.hostpci.size(), 1u);
  const PveHostPci& h = vm.hostpci[0];
  EXPECT_EQ(h.error, "");
  EXPECT_EQ(h.mapping, "egpu");
  EXPECT_EQ(h.ids, Ids{"0000:30:00"});
  EXPECT_EQ(h.bdfs, (Ids{"0000:30:00.0", "0000:30:00.1"}));
  EXPECT_TRUE(h.allFunctions);
  EXPECT_THAT(h.absent, IsEmpty());
  ASSERT_TRUE(h.map.has_value());
  EXPECT_EQ(h.map->id, "1002:687f");
  EXPECT_EQ(h.map->subsystemId, "1002:0b36");
  EXPECT_EQ(h.map->iommuGroup, "25");
  EXPECT_EQ(h.pcie, "1");
}

TEST(ParsePveConfigMapping, AbsentDeviceOfTheMapping) {
  const PveVmConfig vm = parse_pve_config("100", "hostpci0: mapping=egpu,pcie=1\n",
                                          host_with("pve", {"0000:00:02.0"}));
  const PveHostPci& h = vm.hostpci[0];
  EXPECT_EQ(h.error, "");
  EXPECT_THAT(h.bdfs, IsEmpty());
  EXPECT_EQ(h.absent, Ids{"0000:30:00"});
}

TEST(ParsePveConfigMapping, FirstPresentAlternative) {
  PveVmConfig vm =
      parse_pve_config("100", "hostpci0: mapping=twins\n", host_with("pve", {"0000:30:00.0"}));
  EXPECT_EQ(vm.hostpci[0].bdfs, Ids{"0000:30:00.0"});
  // the expected device is the chosen entry's, not the first entry's
  ASSERT_TRUE(vm.hostpci[0].map.has_value());
  EXPECT_EQ(vm.hostpci[0].map->id, "1002:67df");
  vm = parse_pve_config("100", "hostpci0: mapping=twins\n",
                        host_with("pve", {"0000:30:00.0", "0000:40:00.0"}));
  EXPECT_EQ(vm.hostpci[0].bdfs, Ids{"0000:40:00.0"});
  EXPECT_EQ(vm.hostpci[0].map->id, "1002:687f");
  vm = parse_pve_config("100", "hostpci0: mapping=twins\n", host_with("pve", {}));
  EXPECT_EQ(vm.hostpci[0].absent, Ids{"0000:40:00.0"});
}

TEST(ParsePveConfigMapping, Unresolvable) {
  PveVmConfig vm = parse_pve_config("100", "hostpci0: mapping=nosuch,pcie=1\n",
                                    host_with("pve", {}));
  EXPECT_THAT(vm.hostpci[0].error,
              HasSubstr("hostpci0: PCI mapping 'nosuch' is not in /etc/pve/mapping/pci.cfg: "
                        "define it for this node"));
  vm = parse_pve_config("100", "hostpci0: mapping=egpu\n", host_with("pve3", {}));
  EXPECT_THAT(vm.hostpci[0].error,
              HasSubstr("PCI mapping 'egpu' has no device on node 'pve3' (only on pve, pve2)"));
  PveHost none = host_with("pve", {});
  none.mappings.reset();
  vm = parse_pve_config("100", "hostpci0: mapping=egpu\n", none);
  EXPECT_THAT(vm.hostpci[0].error,
              HasSubstr("PCI mapping 'egpu': cannot read /etc/pve/mapping/pci.cfg"));
  vm = parse_pve_config("100", "hostpci0: 30:00.0,mapping=egpu\n", host_with("pve", {}));
  EXPECT_THAT(vm.hostpci[0].error, HasSubstr("both a host address and mapping=egpu"));
  vm = parse_pve_config("100", "hostpci0: 3g:00.0\n", host_with("pve", {}));
  EXPECT_EQ(vm.hostpci[0].error, "hostpci0: '3g:00.0' is not a PCI address");
  vm = parse_pve_config("100", "hostpci0: pcie=1\n", host_with("pve", {}));
  EXPECT_THAT(vm.hostpci[0].error, HasSubstr("neither a host address nor mapping="));
}

TEST(ParsePveConfig, SlotWithoutPresentFunctionsIsAbsent) {
  const PveVmConfig vm = parse_pve_config("100", "hostpci0: 30:00,pcie=1\n", Ids{});
  EXPECT_EQ(vm.hostpci[0].error, "");
  EXPECT_THAT(vm.hostpci[0].bdfs, IsEmpty());
  EXPECT_EQ(vm.hostpci[0].absent, Ids{"0000:30:00"});
}

TEST(ParsePveConfig, UppercaseAndKeyOrder) {
  const PveVmConfig vm =
      parse_pve_config("100", "hostpci0: pcie=1,host=0000:3A:00.0,rombar=0\r\n", Ids{});
  EXPECT_EQ(vm.hostpci[0].bdfs, Ids{"0000:3a:00.0"});
  EXPECT_EQ(vm.hostpci[0].absent, Ids{"0000:3a:00.0"});
  EXPECT_EQ(vm.hostpci[0].rombar, "0");
}

TEST(ReadPveHost, NodeMappingsAndPresentFunctions) {
  testing::FakeSystem sys;
  testing::HostFixture(sys).runbook_host();
  sys.files.file("/proc/sys/kernel/hostname", "pve.example.org\n");
  sys.files.file(kPveMappingFile, kPciCfg);
  const PveHost h = read_pve_host(sys.files, sys.sysfs);
  EXPECT_EQ(h.node, "pve");
  ASSERT_TRUE(h.mappings);
  EXPECT_EQ(h.mappings->ids.size(), 3u);
  EXPECT_THAT(h.present, ::testing::Contains("0000:30:00.1"));
}

}  // namespace
}  // namespace egpuctl
