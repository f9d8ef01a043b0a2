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
#include "pve_config.h"
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

const char* level_name(Level l);

int cmd_doctor(Invocation& inv);

extern const char kDoctorHelp[];

}  // namespace egpuctl
