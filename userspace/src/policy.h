// The persistent policy of egpu-gate (/etc/egpu-gate/policy.toml) as a
// model: Thunderbolt rules, run-time GPU IDs, teardown budget and reset
// settings; the rule grammar of the uAPI (kmod/uapi/egpu_gate.h,
// "Thunderbolt rule grammar") in both directions; the matcher tb allow/deny
// use to see which rule decides a device; and the renderers to the module's
// forms (rule set text, /etc/modprobe.d/egpu-gate.conf).
//
// The TOML side (parser with positions, writer, text-preserving edits) is in
// policy_toml.h; the schema is documented in egpu-gate(7).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "control.h"

namespace egpuctl {

struct PciId {
  uint16_t vendor = 0;
  uint16_t device = 0;
  bool operator==(const PciId&) const = default;
};

// One Thunderbolt rule: match keys (at least one) and options.
struct TbRule {
  enum class Action { kAuthorize, kIgnore };

  std::optional<std::string> uuid{};        // lower case, 8-4-4-4-12
  std::optional<PciId> id{};                // Thunderbolt vendor:device
  std::optional<std::string> vendorName{};
  std::optional<std::string> deviceName{};
  std::optional<std::string> parent{};      // upstream device's UUID
  Action action = Action::kAuthorize;
  bool iommuRequired = true;
  std::vector<PciId> bind{};
  bool chain = false;

  bool has_match() const { return uuid || id || vendorName || deviceName || parent; }
  bool operator==(const TbRule&) const = default;
};

// A run-time GPU ID: VENDOR:DEVICE handled with reset family `family`.
struct PolicyGpuId {
  PciId id{};
  std::string family{};
  bool operator==(const PolicyGpuId&) const = default;
};

// The whole policy.  Settings left empty take the module's defaults.
struct Policy {
  std::vector<TbRule> rules{};            // match order
  std::vector<PolicyGpuId> gpuIds{};      // file order
  std::optional<uint32_t> teardownBudgetMs{};
  std::optional<bool> autoResetMethod{};
  std::optional<bool> resetLeaveD0{};
  bool operator==(const Policy&) const = default;
};

// The module's defaults of the settings (module parameters).
inline constexpr bool kDefaultAutoResetMethod = true;
inline constexpr bool kDefaultResetLeaveD0 = true;

// A rule (or rule set) text that breaks the grammar; `field` names the key
// ("bind", or "" for the structure), what() says what is wrong.
class RuleSyntaxError : public std::runtime_error {
 public:
  RuleSyntaxError(std::string field, const std::string& message)
      : std::runtime_error(message), field_(std::move(field)) {}
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

// --- values (shared by the TOML parser and the rule grammar) ------------
// Each returns the canonical value, or empty with `problem` set to what is
// wrong (a phrase like "is not a UUID: give 8-4-4-4-12 hex digits").
std::optional<std::string> canonical_uuid(std::string_view s, std::string& problem);
std::optional<PciId> parse_pci_id(std::string_view s, std::string& problem);
// vendor_name / device_name: 1..EGPU_TB_NAME_MAX bytes, no ',', ';', '=',
// '"' (cannot be quoted in a module parameter), control characters, nor
// leading or trailing spaces (the module trims them).
bool valid_tb_name(std::string_view s, std::string& problem);
// Reset family name, as `gpu ids add` takes it.
bool valid_family(std::string_view s, std::string& problem);

std::string format_pci_id(PciId id);  // "1002:687f"

// --- rule grammar ---------------------------------------------------------
// Canonical text of one rule: keys in the grammar's order, defaults left
// out, IDs as 4-digit lower-case hex, UUIDs lower case.
std::string rule_text(const TbRule& rule);
// The whole set: canonical rules joined with ';' ("" for none).
std::string rules_text(const std::vector<TbRule>& rules);
// Parses one rule (no ';') of the grammar.  Throws RuleSyntaxError.
TbRule parse_rule_text(std::string_view text);
// Parses a rule set (';'-separated, empty rules ignored).  Throws
// RuleSyntaxError naming the rule's position.
std::vector<TbRule> parse_rules_text(std::string_view text);
// Checks the limits of one rule (length of its text, bind count) and of a
// match key being present; returns "" or the problem.
std::string rule_limits_problem(const TbRule& rule);

// --- matching -------------------------------------------------------------
// True if every match key of `rule` matches `dev`; `parentUuid` is the
// unique_id of dev's parent (empty for a host router or when unknown).
bool rule_matches(const TbRule& rule, const TbDeviceInfo& dev,
                  const std::optional<std::string>& parentUuid);

// --- renderers --------------------------------------------------------------
// /etc/modprobe.d/egpu-gate.conf: a comment naming the source, then one
// `options egpu_gate ...` line with tb_rules (double-quoted), gpu_ids
// ("VVVV:DDDD:family,...") and the settings the policy sets (others keep
// the module's defaults).
std::string render_modprobe_conf(const Policy& policy, std::string_view source);

}  // namespace egpuctl
