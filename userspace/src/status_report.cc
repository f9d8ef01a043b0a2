#include "status_report.h"

#include <fmt/format.h>

#include <algorithm>

#include "egpu_gate.h"

namespace egpuctl {
namespace {

struct FeatureName {
  uint64_t bit;
  const char* name;
};
constexpr FeatureName kFeatures[] = {
    {EGPU_FEATURE_GENL, "genl"},
    {EGPU_FEATURE_FTRACE_HOOK, "ftrace_hook"},
    {EGPU_FEATURE_KUNIT, "kunit"},
    {EGPU_FEATURE_TB_POLICY, "tb_policy"},
};

constexpr const char kNotReported[] = "(not reported)";

}  // namespace

void print_columns(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows) {
    width.resize(std::max(width.size(), r.size()));
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i)
      line += i + 1 < r.size() ? fmt::format("{:<{}}  ", r[i], width[i]) : r[i];
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
}

std::vector<std::string> feature_names(uint64_t bits) {
  std::vector<std::string> names;
  for (const FeatureName& f : kFeatures) {
    if (bits & f.bit) {
      names.emplace_back(f.name);
      bits &= ~f.bit;
    }
  }
  if (bits != 0) names.push_back(fmt::format("{:#x}", bits));
  return names;
}

void KeyValueTable::add(std::string key, std::string value, int level) {
  rows_.push_back({std::move(key), std::move(value), level, false});
}

void KeyValueTable::section(std::string key) { rows_.push_back({std::move(key), "", 0, true}); }

void KeyValueTable::print(std::ostream& out) const {
  size_t width = 0;
  for (const Row& r : rows_)
    if (!r.heading) width = std::max(width, 2 * r.level + r.key.size() + 1);
  for (const Row& r : rows_) {
    const std::string key = std::string(2 * r.level, ' ') + r.key + ":";
    if (r.heading)
      out << key << "\n";
    else
      out << fmt::format("{:<{}}  {}\n", key, width, r.value);
  }
}

void print_status_text(std::ostream& out, const Status& s) {
  KeyValueTable t;
  t.add("module version", s.version);
  std::string api = std::to_string(s.apiVersion);
  if (s.apiVersion != EGPU_GATE_GENL_VERSION)
    api += fmt::format(" (egpuctl speaks {})", EGPU_GATE_GENL_VERSION);
  t.add("api version", api);
  t.add("kernel release", s.kernelRelease.value_or(kNotReported));
  if (s.features) {
    const std::vector<std::string> names = feature_names(*s.features);
    t.add("features", names.empty() ? "(none)" : fmt::format("{}", fmt::join(names, ", ")));
  } else {
    t.add("features", kNotReported);
  }
  if (s.config) {
    t.section("config");
    const Config& c = *s.config;
    t.add("auto_reset_method", c.autoResetMethod ? std::to_string(*c.autoResetMethod) : kNotReported, 1);
    t.add("teardown_budget_ms",
          c.teardownBudgetMs ? std::to_string(*c.teardownBudgetMs) : kNotReported, 1);
    t.add("reset_leave_d0", c.resetLeaveD0 ? std::to_string(*c.resetLeaveD0) : kNotReported, 1);
  } else {
    t.add("config", kNotReported);
  }
  t.print(out);
}

Json status_json(const Status& s) {
  Json j;
  j["module_version"] = s.version;
  j["api_version"] = s.apiVersion;
  j["kernel_release"] = or_null(s.kernelRelease);
  if (s.features) {
    j["features"] = feature_names(*s.features);
    j["feature_bits"] = *s.features;
  } else {
    j["features"] = nullptr;
    j["feature_bits"] = nullptr;
  }
  if (s.config) {
    j["config"] = {{"auto_reset_method", or_null(s.config->autoResetMethod)},
                   {"teardown_budget_ms", or_null(s.config->teardownBudgetMs)},
                   {"reset_leave_d0", or_null(s.config->resetLeaveD0)}};
  } else {
    j["config"] = nullptr;
  }
  return j;
}

void print_json(std::ostream& out, const Json& j) {
  out << j.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
}

}  // namespace egpuctl
