// The policy commands (policy show/check/apply) and the Thunderbolt rule
// commands (tb rules/allow/deny): see egpuctl(8) and egpu-gate(7).
#pragma once

#include <vector>

#include "command.h"

namespace egpuctl {

// The "policy" group of the command table.
Command policy_command();
// "rules", "allow", "deny" of the "tb" group.
std::vector<Command> tb_policy_commands();

int cmd_policy_show(Invocation& inv);
int cmd_policy_check(Invocation& inv);
int cmd_policy_apply(Invocation& inv);
int cmd_tb_rules(Invocation& inv);
int cmd_tb_allow(Invocation& inv);
int cmd_tb_deny(Invocation& inv);

}  // namespace egpuctl
