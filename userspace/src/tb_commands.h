// Commands of the Thunderbolt side: tb list/authorize/deauthorize,
// shutdown-plan, monitor.
#pragma once

#include <string>
#include <vector>

#include "command.h"
#include "device_control.h"

namespace egpuctl {

int cmd_tb_list(Invocation& inv);
int cmd_tb_authorize(Invocation& inv);
int cmd_tb_deauthorize(Invocation& inv);
int cmd_shutdown_plan(Invocation& inv);
int cmd_monitor(Invocation& inv);

extern const char kTbListHelp[];
extern const char kTbAuthorizeHelp[];
extern const char kTbDeauthorizeHelp[];
extern const char kShutdownPlanHelp[];
extern const char kMonitorHelp[];

// The device DEV names: its sysfs name ("0-1") or its UUID.  Throws a
// usage-free Error listing the present devices when there is none.
const TbDevice& find_tb_device(const std::vector<TbDevice>& devices, const std::string& dev);

}  // namespace egpuctl
