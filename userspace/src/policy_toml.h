// policy.toml <-> Policy: the parser (every problem with file:line:column
// and the field), the writer of a fresh, commented file, and the
// text-preserving rule edits of `tb allow/deny` (the user's comments and
// layout stay; the result is parsed again and must equal the edited model,
// else the file is rewritten by the writer).  Schema: egpu-gate(7).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "error.h"
#include "policy.h"

namespace egpuctl {

// One problem of a policy file.
struct PolicyProblem {
  std::string source;   // file name as given
  uint32_t line = 0;    // 1-based; 0 when unknown
  uint32_t column = 0;  // 1-based; 0 when unknown
  std::string field;    // e.g. "tb.rule #2: bind[1]", "" for syntax errors
  std::string message;  // what is wrong and what to give instead
  // "FILE:LINE:COLUMN: FIELD: MESSAGE"
  std::string str() const;
};

// A policy file with problems (exit code 1).  what() lists them all, one
// per line.
class PolicyError : public Error {
 public:
  explicit PolicyError(std::vector<PolicyProblem> problems);
  const std::vector<PolicyProblem>& problems() const { return problems_; }

 private:
  std::vector<PolicyProblem> problems_;
};

// The default location and the schema's top-level tables.
inline constexpr char kPolicyPath[] = "/etc/egpu-gate/policy.toml";
inline constexpr char kModprobePath[] = "/etc/modprobe.d/egpu-gate.conf";

// Parses policy.toml text; `source` names it in problems.  Throws
// PolicyError with every problem found (a TOML syntax error stops at the
// first).  Any byte sequence is safe to pass (fuzzing entry point).
Policy parse_policy(std::string_view text, const std::string& source);

// A complete, commented policy.toml for `policy` (parse_policy() of it
// gives `policy` back).
std::string write_policy_toml(const Policy& policy);

// The TOML text of one [[tb.rule]] table (header included), with an
// optional comment line after the header.
std::string rule_toml(const TbRule& rule, std::string_view comment = {});

// An edit of the rule list: remove the rules at `remove` (indices of the
// old list), then insert `insert` before old rule `insertAt` (the old
// rules' count: after the last).
struct RuleEdit {
  std::vector<size_t> remove{};
  size_t insertAt = 0;
  std::vector<TbRule> insert{};
  std::string comment{};  // written above each inserted rule
};

// The edit applied to the model.
Policy apply_rule_edit(const Policy& policy, const RuleEdit& edit);

// The edit applied to the text `text` of a valid policy file (parsed:
// `policy`).  Keeps everything else of the text; `rewritten` tells whether
// the text could not be edited in place and was written anew by
// write_policy_toml() (comments lost).
std::string edit_policy_text(std::string_view text, const std::string& source,
                             const Policy& policy, const RuleEdit& edit, bool* rewritten);

}  // namespace egpuctl
