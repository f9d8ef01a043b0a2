#include "gpu_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "egpu_gate.h"

namespace egpuctl {
namespace {

constexpr const char kNone[] = "-";

template <typename T>
std::string or_dash(const std::optional<T>& v) {
  return v ? fmt::format("{}", *v) : kNone;
}

}  // namespace

std::string result_name(int32_t result) {
  if (result == 0) return "ok";
  const char* name = result < 0 ? strerrorname_np(-result) : nullptr;
  return name != nullptr ? name : std::to_string(result);
}

std::string reset_method_name(uint8_t method) {
  switch (method) {
    case EGPU_RESET_METHOD_NONE: return "none";
    case EGPU_RESET_METHOD_MODE1: return "mode1";
    case EGPU_RESET_METHOD_BACO: return "baco";
    case EGPU_RESET_METHOD_CONFIG: return "config";
    case EGPU_RESET_METHOD_OTHER: return "other";
    default: return std::to_string(method);
  }
}

void print_gpus_text(std::ostream& out, const std::vector<Gpu>& gpus) {
  if (gpus.empty()) {
    out << "no GPU is handled by egpu_gate\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {{"BDF", "ID", "FAMILY", "RESET_METHOD", "RESETS",
                                                 "FAILURES", "LAST_RESULT", "LAST_US",
                                                 "METHOD"}};
  for (const Gpu& g : gpus) {
    const GpuStats st = g.stats.value_or(GpuStats{});
    // Before the first reset the "last" columns have nothing to say.
    const bool reset = st.count.value_or(0) > 0;
    rows.push_back({
        g.bdf,
        fmt::format("{:04x}:{:04x}", g.vendor, g.device),
        g.family,
        g.resetMethodSet ? (*g.resetMethodSet ? "set" : "not set") : kNone,
        or_dash(st.count),
        or_dash(st.failures),
        reset && st.lastResult ? result_name(*st.lastResult) : kNone,
        reset ? or_dash(st.lastDurationUs) : kNone,
        reset && st.lastMethod ? reset_method_name(*st.lastMethod) : kNone,
    });
  }
  print_columns(out, rows);
}

Json gpus_json(const std::vector<Gpu>& gpus) {
  Json list = Json::array();
  for (const Gpu& g : gpus) {
    Json j;
    j["bdf"] = g.bdf;
    j["id"] = fmt::format("{:04x}:{:04x}", g.vendor, g.device);
    j["vendor"] = g.vendor;
    j["device"] = g.device;
    j["family"] = g.family;
    j["reset_method_set"] = or_null(g.resetMethodSet);
    if (g.stats) {
      const GpuStats& st = *g.stats;
      Json s;
      s["resets"] = or_null(st.count);
      s["failures"] = or_null(st.failures);
      s["last_result"] = or_null(st.lastResult);
      s["last_result_name"] = st.lastResult ? Json(result_name(*st.lastResult)) : Json(nullptr);
      s["last_duration_us"] = or_null(st.lastDurationUs);
      s["last_method"] = st.lastMethod ? Json(reset_method_name(*st.lastMethod)) : Json(nullptr);
      s["smu_state_before"] = or_null(st.smuStateBefore);
      j["stats"] = s;
    } else {
      j["stats"] = nullptr;
    }
    list.push_back(j);
  }
  Json j;
  j["transport"] = "netlink";
  j["gpus"] = list;
  return j;
}

}  // namespace egpuctl
