// The commands of egpuctl and the table that names them.
#pragma once

#include <string>
#include <vector>

#include "command.h"

namespace egpuctl {

// The root of the command tree ("egpuctl").
const Command& root_command();

// One command per function; each parses its own options (see ArgParser).
int cmd_status(Invocation& inv);
int cmd_version(Invocation& inv);
int cmd_help(Invocation& inv);
int cmd_gpu_list(Invocation& inv);
int cmd_gpu_reset(Invocation& inv);
int cmd_gpu_reset_method(Invocation& inv);
int cmd_gpu_ids_add(Invocation& inv);
int cmd_gpu_ids_del(Invocation& inv);

// Entry point used by main(): run_cli() over root_command().
int egpuctl_main(Context& ctx, const std::vector<std::string>& args);

}  // namespace egpuctl
