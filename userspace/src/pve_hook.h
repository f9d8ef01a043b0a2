// egpuctl pve-hook: a Proxmox VE hookscript (`qm set VMID --hookscript
// local:snippets/egpu-gate-hook.sh`; Proxmox runs it as SCRIPT VMID PHASE).
// pre-start makes the VM's hostpci GPUs present, authorized, bound to
// vfio-pci and with device_specific first in reset_method, or aborts the
// start; post-stop logs the GPUs' reset counters.  `pve-hook install VMID`
// writes the snippet and attaches it.
#pragma once

#include "command.h"

namespace egpuctl {

int cmd_pve_hook(Invocation& inv);

extern const char kPveHookHelp[];

// The snippet: a shell script that runs `egpuctl pve-hook "$@"`.
std::string pve_hook_snippet(const std::string& egpuctl_path);

}  // namespace egpuctl
