// What sysfs says and can do without the module: Thunderbolt devices
// (/sys/bus/thunderbolt, see the kernel's
// Documentation/ABI/testing/sysfs-bus-thunderbolt) and PCI functions
// (/sys/bus/pci: driver, IOMMU group, reset_method, vfio-pci binding).
// Everything goes through a FileTree rooted at the sysfs mount.
#pragma once

#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

#include "device_control.h"
#include "file_tree.h"

namespace egpuctl {

// "0000:30:00.1" -> "0000:30:00": the slot, every function of one device.
inline std::string pci_slot(const std::string& bdf) { return bdf.substr(0, bdf.rfind('.')); }

// One PCI function.
struct PciFunction {
  std::string bdf{};                        // "0000:30:00.0"
  uint16_t vendor = 0;
  uint16_t device = 0;
  uint32_t classCode = 0;                   // 0x030000
  std::optional<std::string> driver{};      // "vfio-pci"; empty: unbound
  std::optional<std::string> iommuGroup{};  // "25"; empty: no IOMMU
  std::optional<std::string> resetMethod{}; // "device_specific bus"; empty: none/absent
  std::optional<std::string> subsystemId{}; // "1002:0b36"; empty: not in sysfs
  bool isDisplay() const { return (classCode >> 16) == 0x03; }
  bool isAudio() const { return (classCode >> 8) == 0x0403; }
  std::string slot() const { return pci_slot(bdf); }
  // "1002:687f"
  std::string id() const { return fmt::format("{:04x}:{:04x}", vendor, device); }
  bool operator==(const PciFunction&) const = default;
};

// "0-1" -> {domain 0, route 0x1}; false when `name` is not a switch name.
bool parse_tb_name(const std::string& name, uint32_t& domain, uint64_t& route);

// DeviceControl over sysfs (the module is not loaded).
class SysfsControl : public DeviceControl {
 public:
  explicit SysfsControl(FileTree& sysfs) : fs_(sysfs) {}
  std::string transport() const override { return "sysfs"; }
  std::vector<TbDevice> tbDevices() override;
  void tbAuthorize(const std::string& name) override;
  void tbDeauthorize(const std::string& name) override;
  // Throws: only the module has a plan.
  std::vector<TeardownStep> teardownPlan() override;

 private:
  TbDevice read_device(const std::string& name) const;
  FileTree& fs_;
};

// PCI functions in sysfs.
class SysfsPci {
 public:
  explicit SysfsPci(FileTree& sysfs) : fs_(sysfs) {}
  std::vector<PciFunction> functions() const;
  std::optional<PciFunction> function(const std::string& bdf) const;
  // BDFs in IOMMU group `group`, sorted.
  std::vector<std::string> iommu_group(const std::string& group) const;
  // Number of IOMMU groups (0: IOMMU off).
  size_t iommu_group_count() const;
  // Puts "device_specific" first in reset_method (keeping the others).
  void set_device_specific_first(const PciFunction& f);
  // Writes `value` ("bus", "flr pm", "default") to reset_method; `hint`
  // follows the kernel's refusal.  Throws Error (no reset_method: failure).
  void set_reset_method(const PciFunction& f, const std::string& value, const std::string& hint);
  // Binds `f` to vfio-pci (driver_override, unbind, drivers_probe).
  void bind_vfio(const PciFunction& f);

 private:
  [[noreturn]] void write_failed(const std::string& path, const std::string& value, int err,
                                 const std::string& hint) const;
  void write(const std::string& path, const std::string& value, const std::string& hint);
  FileTree& fs_;
};

}  // namespace egpuctl
