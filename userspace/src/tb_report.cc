#include "tb_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "egpu_gate.h"
#include "gpu_report.h"
#include "tb_codec.h"

namespace egpuctl {
namespace {

constexpr const char kNone[] = "-";

std::string yes_no(const std::optional<bool>& v) { return v ? (*v ? "yes" : "no") : kNone; }

std::string tb_id(const TbDevice& d) {
  if (!d.vendor && !d.device) return kNone;
  return fmt::format("{:04x}:{:04x}", d.vendor.value_or(0), d.device.value_or(0));
}

std::string decision_text(const TbDevice& d) {
  return d.decision ? decision_name(*d.decision) : kNone;
}

}  // namespace

std::string tb_display_name(const TbDevice& d) {
  std::string s = d.vendorName.value_or("");
  if (d.deviceName) s += (s.empty() ? "" : " ") + *d.deviceName;
  return s.empty() ? kNone : s;
}

void print_tb_table(std::ostream& out, const std::vector<TbDevice>& devices, bool with_policy) {
  if (devices.empty()) {
    out << "no Thunderbolt device (is the thunderbolt driver loaded? see 'egpuctl doctor')\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head = {"DEVICE", "ID",       "NAME",  "AUTHORIZED",
                                   "SECURITY", "IOMMU", "UUID"};
  if (with_policy) head.insert(head.end(), {"RULE", "DECISION", "REASON"});
  rows.push_back(head);
  for (const TbDevice& d : devices) {
    std::vector<std::string> r = {
        d.name,
        tb_id(d),
        tb_display_name(d),
        !d.parent ? "host" : d.authorized ? std::to_string(*d.authorized) : kNone,
        d.security.value_or(kNone),
        yes_no(d.iommuProtection),
        d.uniqueId.value_or(kNone),
    };
    if (with_policy) {
      r.push_back(d.ruleId ? std::to_string(*d.ruleId) : kNone);
      r.push_back(decision_text(d) + (d.byEgpu ? "*" : ""));
      r.push_back(d.reason.value_or(kNone));
    }
    rows.push_back(r);
  }
  print_columns(out, rows);
  if (with_policy &&
      std::any_of(devices.begin(), devices.end(), [](const TbDevice& d) { return d.byEgpu; }))
    out << "* authorized by egpu-gate: torn down at shutdown (see 'egpuctl shutdown-plan')\n";
}

void print_tb_tree(std::ostream& out, const std::vector<TbDevice>& devices, bool with_policy) {
  if (devices.empty()) {
    out << "no Thunderbolt device (is the thunderbolt driver loaded? see 'egpuctl doctor')\n";
    return;
  }
  std::map<std::string, std::vector<const TbDevice*>> children;
  std::map<uint32_t, std::vector<const TbDevice*>> roots;
  for (const TbDevice& d : devices) {
    const bool has_parent =
        d.parent && std::any_of(devices.begin(), devices.end(),
                                [&](const TbDevice& p) { return p.name == *d.parent; });
    if (has_parent)
      children[*d.parent].push_back(&d);
    else
      roots[d.domain].push_back(&d);
  }
  auto line = [&](const TbDevice& d) {
    std::string s = fmt::format("{}  {}  {}", d.name, tb_id(d), tb_display_name(d));
    if (d.parent)
      s += d.authorized ? fmt::format("  authorized={}", *d.authorized) : "  authorized=-";
    if (d.uniqueId) s += "  uuid=" + *d.uniqueId;
    if (with_policy) {
      s += "  decision=" + decision_text(d);
      if (d.ruleId) s += fmt::format("  rule={}", *d.ruleId);
      if (d.byEgpu) s += "  by-egpu-gate";
      if (d.authFailures && *d.authFailures > 0) {
        s += fmt::format("  failures={}/{}", *d.authFailures, EGPU_TB_AUTH_ATTEMPTS);
        if (d.authError) s += " last=" + result_name(*d.authError);
        if (d.authRetryMs) s += fmt::format(" retry-in={}ms", *d.authRetryMs);
      }
      if (d.reason) s += " (" + *d.reason + ")";
    }
    return s;
  };
  std::function<void(const TbDevice&, const std::string&, bool)> walk =
      [&](const TbDevice& d, const std::string& prefix, bool last) {
        out << prefix << (last ? "`-- " : "|-- ") << line(d) << "\n";
        const std::string inner = prefix + (last ? "    " : "|   ");
        const auto& kids = children[d.name];
        for (size_t i = 0; i < d.pci.size(); ++i)
          out << inner << ((kids.empty() && i + 1 == d.pci.size()) ? "`-- " : "|-- ") << "pci "
              << d.pci[i] << "\n";
        for (size_t i = 0; i < kids.size(); ++i) walk(*kids[i], inner, i + 1 == kids.size());
      };
  for (const auto& [domain, list] : roots) {
    const TbDevice& first = *list.front();
    out << fmt::format("domain{}  security={}  iommu_dma_protection={}  deauthorization={}\n",
                       domain, first.security.value_or(kNone), yes_no(first.iommuProtection),
                       yes_no(first.deauthorization));
    for (size_t i = 0; i < list.size(); ++i) walk(*list[i], "", i + 1 == list.size());
  }
}

Json tb_device_json(const TbDevice& d) {
  Json j;
  j["name"] = d.name;
  j["domain"] = d.domain;
  j["parent"] = or_null(d.parent);
  j["id"] = d.vendor || d.device ? Json(tb_id(d)) : Json(nullptr);
  j["vendor"] = or_null(d.vendor);
  j["device"] = or_null(d.device);
  j["vendor_name"] = or_null(d.vendorName);
  j["device_name"] = or_null(d.deviceName);
  j["unique_id"] = or_null(d.uniqueId);
  j["authorized"] = or_null(d.authorized);
  j["security"] = or_null(d.security);
  j["iommu_dma_protection"] = or_null(d.iommuProtection);
  j["deauthorization"] = or_null(d.deauthorization);
  j["rule_id"] = or_null(d.ruleId);
  j["decision"] = d.decision ? Json(decision_name(*d.decision)) : Json(nullptr);
  j["reason"] = or_null(d.reason);
  j["by_egpu"] = d.byEgpu;
  j["pci"] = d.pci;
  j["auth_failures"] = or_null(d.authFailures);
  j["auth_error"] = d.authError ? Json(result_name(*d.authError)) : Json(nullptr);
  j["auth_errno"] = or_null(d.authError);
  j["auth_retry_ms"] = or_null(d.authRetryMs);
  return j;
}

Json tb_list_json(const std::vector<TbDevice>& devices, const std::string& transport) {
  Json list = Json::array();
  for (const TbDevice& d : devices) list.push_back(tb_device_json(d));
  Json j;
  j["transport"] = transport;
  j["devices"] = list;
  return j;
}

void print_plan_text(std::ostream& out, const std::vector<TeardownStep>& steps) {
  if (steps.empty()) {
    out << "nothing to tear down: no device was authorized by egpu-gate\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {{"STEP", "ACTION", "TARGET", "DEVICE", "NOTE"}};
  for (const TeardownStep& s : steps)
    rows.push_back({std::to_string(s.index + 1) + ".", step_action_name(s.action), s.target,
                    s.tb.value_or(kNone), s.note.value_or("")});
  print_columns(out, rows);
}

Json plan_json(const std::vector<TeardownStep>& steps) {
  Json list = Json::array();
  for (const TeardownStep& s : steps) {
    Json j;
    j["index"] = s.index;
    j["action"] = step_action_name(s.action);
    j["target"] = s.target;
    j["tb"] = or_null(s.tb);
    j["note"] = or_null(s.note);
    list.push_back(j);
  }
  Json j;
  j["steps"] = list;
  return j;
}

std::string event_text(const Event& e) {
  std::string s;
  if (e.timeNs)
    s = fmt::format("[{:>5}.{:06}] ", *e.timeNs / 1000000000, (*e.timeNs / 1000) % 1000000);
  s += event_type_name(e.type);
  if (e.tb) s += " " + *e.tb;
  if (e.bdf) s += " " + *e.bdf;
  if (e.uniqueId) s += " uuid=" + *e.uniqueId;
  if (e.ruleId) s += fmt::format(" rule={}", *e.ruleId);
  if (e.error && *e.error != 0) s += " error=" + result_name(*e.error);
  if (e.durationUs) s += fmt::format(" duration_us={}", *e.durationUs);
  if (e.message) s += ": " + *e.message;
  return s;
}

Json event_json(const Event& e) {
  Json j;
  j["type"] = event_type_name(e.type);
  j["time_ns"] = or_null(e.timeNs);
  j["tb"] = or_null(e.tb);
  j["unique_id"] = or_null(e.uniqueId);
  j["bdf"] = or_null(e.bdf);
  j["rule_id"] = or_null(e.ruleId);
  j["error"] = or_null(e.error);
  j["error_name"] = e.error ? Json(result_name(*e.error)) : Json(nullptr);
  j["duration_us"] = or_null(e.durationUs);
  j["message"] = or_null(e.message);
  return j;
}

}  // namespace egpuctl
