// SysfsControl and SysfsPci against fake sysfs trees; the real FileTree
// against a temporary directory.
#include "sysfs_devices.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "error.h"
#include "fake_system.h"

namespace egpuctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using testing::FakeSystem;
using testing::HostFixture;

std::vector<std::string> names(const std::vector<TbDevice>& v) {
  std::vector<std::string> n;
  for (const TbDevice& d : v) n.push_back(d.name);
  return n;
}

// domain0: 0-0 -> 0-1 -> 0-301 -> 0-30301, and 0-3 beside 0-1.
void chain(FakeSystem& sys) {
  HostFixture f(sys);
  f.tb_domain(0);
  f.tb_device("0-0", 0x8086, 1, "Intel", "Host", "u0", 1);
  f.tb_device("0-1", 0x4, 2, "Dock", "One", "u1", 1);
  f.tb_device("0-301", 0x4, 3, "Dock", "Two", "u2", 1);
  f.tb_device("0-30301", 0x4, 4, "Blackmagic Design", "eGPU Pro", "u3", 1);
  f.tb_device("0-3", 0x4, 5, "Other", "Three", "u4", 0);
  sys.sysfs.dir("/bus/thunderbolt/devices/0-0:1.1");  // a retimer: not a router
}

TEST(ParseTbName, NamesAndNot) {
  uint32_t d;
  uint64_t r;
  EXPECT_TRUE(parse_tb_name("1-301", d, r));
  EXPECT_EQ(d, 1u);
  EXPECT_EQ(r, 0x301u);
  EXPECT_FALSE(parse_tb_name("domain0", d, r));
  EXPECT_FALSE(parse_tb_name("0-0:1.1", d, r));
  EXPECT_FALSE(parse_tb_name("0-1.1", d, r));
}

TEST(SysfsControl, RunbookHostDevices) {
  FakeSystem sys;
  HostFixture(sys).runbook_host(false);
  SysfsControl sc(sys.sysfs);
  EXPECT_EQ(sc.transport(), "sysfs");
  const auto devs = sc.tbDevices();
  ASSERT_THAT(names(devs), ElementsAre("0-0", "1-0", "1-1"));
  const TbDevice& e = devs[2];
  EXPECT_EQ(e.domain, 1u);
  EXPECT_EQ(e.parent, "1-0");
  EXPECT_EQ(e.vendor, 0x4u);
  EXPECT_EQ(e.device, 0xa153u);
  EXPECT_EQ(e.vendorName, "Blackmagic Design");
  EXPECT_EQ(e.deviceName, "eGPU Pro");
  EXPECT_EQ(e.uniqueId, "d1e2a3b4-0000-0000-0000-000000000001");
  EXPECT_EQ(e.authorized, 0);
  EXPECT_EQ(e.security, "user");
  EXPECT_EQ(e.iommuProtection, true);
  EXPECT_EQ(e.deauthorization, true);
  EXPECT_FALSE(e.ruleId);
  EXPECT_FALSE(e.decision);
  EXPECT_FALSE(devs[0].parent);
}

TEST(SysfsControl, DepthFirstOrder) {
  FakeSystem sys;
  chain(sys);
  EXPECT_THAT(names(SysfsControl(sys.sysfs).tbDevices()),
              ElementsAre("0-0", "0-1", "0-301", "0-30301", "0-3"));
}

TEST(SysfsControl, AuthorizeWritesOne) {
  FakeSystem sys;
  HostFixture(sys).runbook_host(false);
  SysfsControl(sys.sysfs).tbAuthorize("1-1");
  EXPECT_THAT(sys.sysfs.writes, ElementsAre(Pair("/bus/thunderbolt/devices/1-1/authorized", "1")));
  // Already authorized: nothing written.
  SysfsControl(sys.sysfs).tbAuthorize("1-1");
  EXPECT_EQ(sys.sysfs.writes.size(), 1u);
}

TEST(SysfsControl, AuthorizeNeedsAuthorizedParent) {
  FakeSystem sys;
  chain(sys);
  sys.sysfs.file("/bus/thunderbolt/devices/0-301/authorized", "0\n");
  sys.sysfs.file("/bus/thunderbolt/devices/0-30301/authorized", "0\n");
  try {
    SysfsControl(sys.sysfs).tbAuthorize("0-30301");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("its parent 0-301 is not authorized: run 'egpuctl tb "
                                    "authorize 0-301' first"));
  }
  EXPECT_TRUE(sys.sysfs.writes.empty());
}

TEST(SysfsControl, AuthorizeErrors) {
  FakeSystem sys;
  HostFixture(sys).runbook_host(false);
  sys.sysfs.write_errors["/bus/thunderbolt/devices/1-1/authorized"] = EACCES;
  try {
    SysfsControl(sys.sysfs).tbAuthorize("1-1");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 4);
    EXPECT_THAT(e.what(), HasSubstr("needs root"));
  }
  sys.sysfs.write_errors["/bus/thunderbolt/devices/1-1/authorized"] = EINVAL;
  try {
    SysfsControl(sys.sysfs).tbAuthorize("1-1");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 1);
    EXPECT_THAT(e.what(), HasSubstr("/fake/sys/bus/thunderbolt/devices/1-1/authorized: Invalid"));
  }
  try {
    SysfsControl(sys.sysfs).tbAuthorize("1-7");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no Thunderbolt device '1-7'"));
  }
}

TEST(SysfsControl, DeauthorizeChildrenFirst) {
  FakeSystem sys;
  chain(sys);
  SysfsControl(sys.sysfs).tbDeauthorize("0-1");
  EXPECT_THAT(sys.sysfs.writes,
              ElementsAre(Pair("/bus/thunderbolt/devices/0-30301/authorized", "0"),
                          Pair("/bus/thunderbolt/devices/0-301/authorized", "0"),
                          Pair("/bus/thunderbolt/devices/0-1/authorized", "0")));
}

TEST(SysfsControl, DeauthorizeRefusals) {
  FakeSystem sys;
  chain(sys);
  EXPECT_THROW(SysfsControl(sys.sysfs).tbDeauthorize("0-0"), Error);
  HostFixture(sys).tb_domain(0, "user", true, false);
  try {
    SysfsControl(sys.sysfs).tbDeauthorize("0-1");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("domain0 cannot de-authorize devices"));
  }
  EXPECT_TRUE(sys.sysfs.writes.empty());
}

TEST(SysfsControl, NoPlanWithoutTheModule) {
  FakeSystem sys;
  try {
    SysfsControl(sys.sysfs).teardownPlan();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 3);
  }
}

TEST(SysfsPci, RunbookFunctions) {
  FakeSystem sys;
  HostFixture(sys).runbook_host(true, false, false);
  SysfsPci pci(sys.sysfs);
  const auto gpu = pci.function("0000:30:00.0");
  ASSERT_TRUE(gpu);
  EXPECT_EQ(gpu->vendor, 0x1002);
  EXPECT_EQ(gpu->device, 0x687f);
  EXPECT_TRUE(gpu->isDisplay());
  EXPECT_EQ(gpu->driver, "amdgpu");
  EXPECT_EQ(gpu->iommuGroup, "25");
  EXPECT_EQ(gpu->resetMethod, "bus");
  EXPECT_TRUE(pci.function("0000:30:00.1")->isAudio());
  EXPECT_THAT(pci.iommu_group("25"), ElementsAre("0000:30:00.0", "0000:30:00.1"));
  EXPECT_FALSE(pci.function("0000:99:00.0"));
}

TEST(SysfsPci, BindVfioAndResetMethod) {
  FakeSystem sys;
  HostFixture fx(sys);  // vfio_available()'s callbacks use it: keep it alive
  fx.runbook_host(true, false, false).vfio_available();
  SysfsPci pci(sys.sysfs);
  pci.bind_vfio(*pci.function("0000:30:00.0"));
  EXPECT_EQ(pci.function("0000:30:00.0")->driver, "vfio-pci");
  EXPECT_THAT(sys.sysfs.writes,
              ElementsAre(Pair("/bus/pci/devices/0000:30:00.0/driver_override", "vfio-pci"),
                          Pair("/bus/pci/devices/0000:30:00.0/driver/unbind", "0000:30:00.0"),
                          Pair("/bus/pci/drivers_probe", "0000:30:00.0")));
  sys.sysfs.writes.clear();
  pci.set_device_specific_first(*pci.function("0000:30:00.0"));
  EXPECT_THAT(sys.sysfs.writes,
              ElementsAre(Pair("/bus/pci/devices/0000:30:00.0/reset_method",
                               "device_specific bus")));
}

TEST(SysfsPci, BindVfioNeedsTheDriver) {
  FakeSystem sys;
  HostFixture(sys).runbook_host(true, false);
  sys.sysfs.dirs.erase("/bus/pci/drivers/vfio-pci");
  try {
    SysfsPci(sys.sysfs).bind_vfio(*SysfsPci(sys.sysfs).function("0000:30:00.0"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("modprobe vfio-pci"));
  }
}

TEST(RealFileTree, ReadWriteListLinkReplace) {
  char tmpl[] = "/tmp/egpuctl-tree-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  std::filesystem::create_directories(root + "/bus/x");
  std::ofstream(root + "/bus/x/authorized") << "0\n";
  std::filesystem::create_symlink("../../drivers/vfio-pci", root + "/bus/x/driver");
  auto t = make_real_file_tree(root);
  EXPECT_EQ(t->root(), root);
  EXPECT_EQ(t->attr("/bus/x/authorized"), "0");
  EXPECT_EQ(t->write("/bus/x/authorized", "1"), 0);
  EXPECT_EQ(t->attr("/bus/x/authorized"), "1");
  EXPECT_EQ(t->write("/bus/x/missing", "1"), ENOENT);
  EXPECT_THAT(t->list("/bus/x"), ElementsAre("authorized", "driver"));
  EXPECT_EQ(t->link_name("/bus/x/driver"), "vfio-pci");
  EXPECT_TRUE(t->exists("/bus/x/driver"));
  EXPECT_FALSE(t->read("/bus/nothing"));
  t->write_atomic("/bus/x/hook.sh", "#!/bin/sh\n", 0755, ExistingMode::kSet);
  struct stat st;
  ASSERT_EQ(stat((root + "/bus/x/hook.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  EXPECT_EQ(t->read_file("/bus/x/hook.sh"), "#!/bin/sh\n");
  chmod((root + "/bus/x/hook.sh").c_str(), 0700);
  t->write_atomic("/bus/x/hook.sh", "#!/bin/sh\n", 0755, ExistingMode::kSet);
  ASSERT_EQ(stat((root + "/bus/x/hook.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  t->remove("/bus/x/hook.sh");
  EXPECT_FALSE(t->exists("/bus/x/hook.sh"));
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace egpuctl
