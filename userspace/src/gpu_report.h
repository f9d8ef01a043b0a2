// How the handled GPUs (`egpuctl gpu list`) are shown: a table for people,
// JSON (stable snake_case keys, same order as the table) for scripts.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "control.h"
#include "status_report.h"

namespace egpuctl {

// "ETIMEDOUT" for -110, "ok" for 0, the number for unknown errnos.
std::string result_name(int32_t result);
// "mode1", "baco", ... for enum egpu_reset_method; the number if unknown.
std::string reset_method_name(uint8_t method);

void print_gpus_text(std::ostream& out, const std::vector<Gpu>& gpus);
Json gpus_json(const std::vector<Gpu>& gpus);

}  // namespace egpuctl
