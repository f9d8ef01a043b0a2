#include "policy.h"

#include <fmt/format.h>

#include <cctype>

#include "egpu_gate.h"

namespace egpuctl {
namespace {

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// 1..4 hex digits -> value.
std::optional<uint16_t> hex16(std::string_view s) {
  if (s.empty() || s.size() > 4) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (!is_hex(c)) return std::nullopt;
    v = v * 16 + static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(c))
                                           ? c - '0'
                                           : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
  }
  return static_cast<uint16_t>(v);
}

}  // namespace

std::optional<std::string> canonical_uuid(std::string_view s, std::string& problem) {
  static constexpr int kGroups[] = {8, 4, 4, 4, 12};
  size_t pos = 0;
  bool ok = s.size() == 36;
  for (int g = 0; ok && g < 5; ++g) {
    for (int i = 0; ok && i < kGroups[g]; ++i) ok = is_hex(s[pos++]);
    if (ok && g < 4) ok = s[pos++] == '-';
  }
  if (!ok) {
    problem = fmt::format("'{}' is not a UUID: give 8-4-4-4-12 hex digits as in the device's "
                          "sysfs unique_id (egpuctl tb list)",
                          s);
    return std::nullopt;
  }
  return lower(s);
}

std::optional<PciId> parse_pci_id(std::string_view s, std::string& problem) {
  const size_t colon = s.find(':');
  std::optional<uint16_t> v, d;
  if (colon != std::string_view::npos) {
    v = hex16(s.substr(0, colon));
    d = hex16(s.substr(colon + 1));
  }
  if (!v || !d) {
    problem = fmt::format("'{}' is not an ID: give VENDOR:DEVICE in hex, e.g. 1002:687f", s);
    return std::nullopt;
  }
  return PciId{*v, *d};
}

bool valid_tb_name(std::string_view s, std::string& problem) {
  if (s.empty()) {
    problem = "is empty";
    return false;
  }
  if (s.size() > EGPU_TB_NAME_MAX) {
    problem = fmt::format("is {} bytes long, at most {} are allowed", s.size(), EGPU_TB_NAME_MAX);
    return false;
  }
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == ',' || c == ';' || c == '=' || c == '"' || u < 0x20 || u == 0x7f) {
      problem = u < 0x20 || u == 0x7f
                    ? std::string("contains a control character")
                    : fmt::format("contains '{}' (not allowed in a rule: ',' ';' '=' '\"')", c);
      return false;
    }
  }
  if (s.front() == ' ' || s.back() == ' ') {
    problem = "has leading or trailing spaces (the module ignores them: leave them out)";
    return false;
  }
  return true;
}

bool valid_family(std::string_view s, std::string& problem) {
  bool ok = !s.empty() && s.size() <= EGPU_FAMILY_NAME_MAX;
  for (char c : s)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  if (!ok)
    problem = fmt::format("'{}' is not a family name: at most {} letters, digits, '_', '-' or '.'",
                          s, EGPU_FAMILY_NAME_MAX);
  return ok;
}

std::string format_pci_id(PciId id) { return fmt::format("{:04x}:{:04x}", id.vendor, id.device); }

std::string rule_text(const TbRule& r) {
  std::vector<std::string> f;
  if (r.uuid) f.push_back("uuid=" + *r.uuid);
  if (r.id) f.push_back("id=" + format_pci_id(*r.id));
  if (r.vendorName) f.push_back("vendor_name=" + *r.vendorName);
  if (r.deviceName) f.push_back("device_name=" + *r.deviceName);
  if (r.parent) f.push_back("parent=" + *r.parent);
  if (r.action == TbRule::Action::kIgnore) f.push_back("action=ignore");
  if (!r.iommuRequired) f.push_back("iommu=optional");
  if (!r.bind.empty()) {
    std::string b = "bind=";
    for (size_t i = 0; i < r.bind.size(); ++i) b += (i ? "+" : "") + format_pci_id(r.bind[i]);
    f.push_back(b);
  }
  if (r.chain) f.push_back("chain=1");
  return fmt::format("{}", fmt::join(f, ","));
}

std::string rules_text(const std::vector<TbRule>& rules) {
  std::string s;
  for (size_t i = 0; i < rules.size(); ++i) s += (i ? ";" : "") + rule_text(rules[i]);
  return s;
}

TbRule parse_rule_text(std::string_view text) {
  TbRule r;
  std::vector<std::string> seen;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view field = trim(text.substr(start, end - start));
    start = end + 1;
    const size_t eq = field.find('=');
    if (eq == std::string_view::npos)
      throw RuleSyntaxError("", fmt::format("'{}' is not key=value", field));
    const std::string key(trim(field.substr(0, eq)));
    const std::string_view value = trim(field.substr(eq + 1));
    for (const std::string& k : seen)
      if (k == key) throw RuleSyntaxError(key, fmt::format("{}: given twice", key));
    seen.push_back(key);
    std::string problem;
    auto fail = [&](const std::string& p) -> RuleSyntaxError {
      return RuleSyntaxError(key, fmt::format("{}: {}", key, p));
    };
    if (key == "uuid" || key == "parent") {
      auto u = canonical_uuid(value, problem);
      if (!u) throw fail(problem);
      (key == "uuid" ? r.uuid : r.parent) = *u;
    } else if (key == "id") {
      auto id = parse_pci_id(value, problem);
      if (!id) throw fail(problem);
      r.id = *id;
    } else if (key == "vendor_name" || key == "device_name") {
      if (!valid_tb_name(value, problem)) throw fail(problem);
      (key == "vendor_name" ? r.vendorName : r.deviceName) = std::string(value);
    } else if (key == "action") {
      if (value == "authorize")
        r.action = TbRule::Action::kAuthorize;
      else if (value == "ignore")
        r.action = TbRule::Action::kIgnore;
      else
        throw fail(fmt::format("'{}' is not an action: give authorize or ignore", value));
    } else if (key == "iommu") {
      if (value == "required" || value == "optional")
        r.iommuRequired = value == "required";
      else
        throw fail(fmt::format("'{}' is not an iommu setting: give required or optional", value));
    } else if (key == "bind") {
      size_t s = 0;
      while (s <= value.size()) {
        size_t e = value.find('+', s);
        if (e == std::string_view::npos) e = value.size();
        auto id = parse_pci_id(value.substr(s, e - s), problem);
        if (!id) throw fail(problem);
        r.bind.push_back(*id);
        s = e + 1;
      }
      if (r.bind.size() > EGPU_TB_BIND_MAX)
        throw fail(fmt::format("{} IDs, at most {} are allowed", r.bind.size(), EGPU_TB_BIND_MAX));
    } else if (key == "chain") {
      if (value != "0" && value != "1") throw fail(fmt::format("'{}' is not 0 or 1", value));
      r.chain = value == "1";
    } else {
      throw RuleSyntaxError(key, fmt::format("unknown key '{}'", key));
    }
  }
  if (!r.has_match())
    throw RuleSyntaxError("", "no match key: give at least one of uuid, id, vendor_name, "
                              "device_name, parent");
  return r;
}

std::vector<TbRule> parse_rules_text(std::string_view text) {
  std::vector<TbRule> rules;
  size_t start = 0;
  int n = 0;
  while (start <= text.size()) {
    size_t end = text.find(';', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view one = trim(text.substr(start, end - start));
    start = end + 1;
    if (one.empty()) continue;
    ++n;
    try {
      rules.push_back(parse_rule_text(one));
    } catch (const RuleSyntaxError& e) {
      throw RuleSyntaxError(e.field(), fmt::format("rule {}: {}", n, e.what()));
    }
  }
  return rules;
}

std::string rule_limits_problem(const TbRule& rule) {
  if (!rule.has_match())
    return "no match key: give at least one of uuid, id, vendor_name, device_name, parent";
  if (rule.bind.size() > EGPU_TB_BIND_MAX)
    return fmt::format("bind has {} IDs, at most {} are allowed", rule.bind.size(),
                       EGPU_TB_BIND_MAX);
  const std::string text = rule_text(rule);
  if (text.size() > EGPU_TB_RULE_TEXT_MAX)
    return fmt::format("the rule's text is {} bytes long, at most {} are allowed", text.size(),
                       EGPU_TB_RULE_TEXT_MAX);
  return "";
}

bool rule_matches(const TbRule& rule, const TbDeviceInfo& dev,
                  const std::optional<std::string>& parentUuid) {
  if (!rule.has_match()) return false;
  std::string problem;
  if (rule.uuid) {
    if (!dev.uniqueId) return false;
    auto u = canonical_uuid(*dev.uniqueId, problem);
    if (!u || *u != *rule.uuid) return false;
  }
  if (rule.id && (!dev.vendor || !dev.device || *dev.vendor != rule.id->vendor ||
                  *dev.device != rule.id->device))
    return false;
  if (rule.vendorName && dev.vendorName != rule.vendorName) return false;
  if (rule.deviceName && dev.deviceName != rule.deviceName) return false;
  if (rule.parent) {
    if (!parentUuid) return false;
    auto u = canonical_uuid(*parentUuid, problem);
    if (!u || *u != *rule.parent) return false;
  }
  return true;
}

std::string render_modprobe_conf(const Policy& p, std::string_view source) {
  std::string s = fmt::format(
      "# Generated by `egpuctl policy apply` from {}: do not edit, edit that\n"
      "# file and run `egpuctl policy apply` again.  See egpu-gate(7).\n",
      source);
  std::string opts = "options egpu_gate";
  // The kernel's parameter parser takes a double-quoted value as one
  // argument (spaces included); rule text never contains '"'.
  opts += fmt::format(" tb_rules=\"{}\"", rules_text(p.rules));
  if (p.teardownBudgetMs) opts += fmt::format(" teardown_budget_ms={}", *p.teardownBudgetMs);
  if (p.autoResetMethod) opts += fmt::format(" auto_reset_method={}", *p.autoResetMethod ? 1 : 0);
  if (p.resetLeaveD0) opts += fmt::format(" reset_leave_d0={}", *p.resetLeaveD0 ? 1 : 0);
  if (!p.gpuIds.empty()) {
    std::vector<std::string> ids;
    for (const PolicyGpuId& g : p.gpuIds) ids.push_back(format_pci_id(g.id) + ":" + g.family);
    opts += fmt::format(" gpu_ids={}", fmt::join(ids, ","));
  }
  return s + opts + "\n";
}

}  // namespace egpuctl

// Defaults of the rule methods of Control (see control.h).
#include "error.h"

namespace egpuctl {
namespace {
[[noreturn]] void rules_unavailable() {
  throw Error(ExitCode::kNotLoaded,
              "Thunderbolt rules need module egpu_gate: run `modprobe egpu_gate`");
}
}  // namespace
std::vector<TbRuleEntry> Control::tbRules() { rules_unavailable(); }
TbRuleEntry Control::addTbRule(const std::string&) { rules_unavailable(); }
void Control::deleteTbRule(uint32_t) { rules_unavailable(); }
void Control::setTbRules(const std::string&) { rules_unavailable(); }
std::optional<TbDeviceInfo> Control::tbDevice(const std::string&) { rules_unavailable(); }
}  // namespace egpuctl
