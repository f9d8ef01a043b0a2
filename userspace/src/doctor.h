// egpuctl doctor: the runbook's verification and troubleshooting steps as
// checks (IOMMU, IOMMU groups, vfio-pci binding, reset_method, the module
// and its signature, Secure Boot, Thunderbolt security, the USB-C cable
// symptom, unauthorized devices, NIC names, Proxmox VM configs), each OK,
// WARN or FAIL with the evidence and the fix.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "command.h"
#include "control.h"
#include "device_control.h"
#include "system.h"

namespace egpuctl {

enum class Level { kOk = 0, kWarn = 1, kFail = 2 };

struct Check {
  std::string id;        // stable: "iommu.groups", "gpu.driver", ...
  std::string subject;   // what it is about ("0000:30:00.0", "vm 100"), or ""
  Level level = Level::kOk;
  std::string evidence;  // what was found
  std::string fix;       // what to do (empty when OK)
};

// What the doctor looks at.  The module's part is empty when it is not
// loaded (moduleError says why when it is loaded but unreachable).
struct DoctorInputs {
  FileTree& sysfs;
  FileTree& files;
  CommandRunner& runner;
  std::optional<Status> status;
  std::string moduleError;
  std::vector<Gpu> handledGpus;
  std::vector<TbDevice> tbDevices;
  bool tbFromModule = false;
  std::string egpuctlVersion;
};

std::vector<Check> run_doctor(const DoctorInputs& in);

// A Proxmox VM config (/etc/pve/qemu-server/VMID.conf): the main section.
struct PveHostPci {
  std::string key;                   // "hostpci0"
  std::vector<std::string> bdfs;     // full addresses it passes
  bool allFunctions = false;         // "30:00": every function of the slot
  std::optional<std::string> pcie;   // value of pcie=
  std::optional<std::string> rombar; // value of rombar=
  std::string raw;
};
struct PveVmConfig {
  std::string vmid;
  std::optional<std::string> machine;
  std::vector<PveHostPci> hostpci;
  std::optional<std::string> hookscript;
};
// `text` of VMID.conf; `functions` expand "30:00" to the present functions.
PveVmConfig parse_pve_config(const std::string& vmid, const std::string& text,
                             const std::vector<std::string>& present_bdfs);

const char* level_name(Level l);

int cmd_doctor(Invocation& inv);

extern const char kDoctorHelp[];

}  // namespace egpuctl
