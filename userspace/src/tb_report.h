// How Thunderbolt devices, the teardown plan and events are shown: tables
// and trees for people, JSON (stable snake_case keys) for scripts.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "device_control.h"
#include "status_report.h"

namespace egpuctl {

// `with_policy`: the module's columns (rule, decision, reason).
void print_tb_table(std::ostream& out, const std::vector<TbDevice>& devices, bool with_policy);
void print_tb_tree(std::ostream& out, const std::vector<TbDevice>& devices, bool with_policy);
Json tb_device_json(const TbDevice& d);
Json tb_list_json(const std::vector<TbDevice>& devices, const std::string& transport);

void print_plan_text(std::ostream& out, const std::vector<TeardownStep>& steps);
Json plan_json(const std::vector<TeardownStep>& steps);

// One line per event.
std::string event_text(const Event& e);
Json event_json(const Event& e);

// "Blackmagic Design eGPU Pro", or "-".
std::string tb_display_name(const TbDevice& d);

}  // namespace egpuctl
