#include "policy_toml.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "egpu_gate.h"
#include "suggest.h"
#include "toml_guard.h"

namespace egpuctl {

std::string PolicyProblem::str() const {
  std::string s = source;
  if (line > 0) s += fmt::format(":{}", line);
  if (line > 0 && column > 0) s += fmt::format(":{}", column);
  s += ": ";
  if (!field.empty()) s += field + ": ";
  return s + message;
}

namespace {

std::string join_problems(const std::vector<PolicyProblem>& problems) {
  std::string s;
  for (size_t i = 0; i < problems.size(); ++i) s += (i ? "\n" : "") + problems[i].str();
  return s;
}

const char* type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    default: return "a date or time";
  }
}

// Collects problems while walking the document.
class Checker {
 public:
  explicit Checker(std::string source) : source_(std::move(source)) {}

  void problem(const toml::source_region& at, std::string field, std::string message) {
    problems_.push_back(PolicyProblem{source_, at.begin.line, at.begin.column, std::move(field),
                                      std::move(message)});
  }
  void wrong_type(const toml::node& n, const std::string& field, const char* want) {
    problem(n.source(), field, fmt::format("is {}, give {}", type_name(n), want));
  }
  // Unknown keys of `t` (not in `known`) are problems.
  void known_keys(const toml::table& t, const std::string& prefix,
                  const std::vector<std::string>& known) {
    for (auto&& [k, v] : t) {
      const std::string key(k.str());
      if (std::find(known.begin(), known.end(), key) == known.end())
        problem(k.source(), prefix + key,
                fmt::format("unknown key{} (known here: {})", did_you_mean(key, known),
                            fmt::join(known, ", ")));
    }
  }
  const std::vector<PolicyProblem>& problems() const { return problems_; }

 private:
  std::string source_;
  std::vector<PolicyProblem> problems_;
};

std::optional<std::string> get_string(Checker& c, const toml::node& n, const std::string& field) {
  if (const auto* s = n.as_string()) return s->get();
  c.wrong_type(n, field, "a string in double quotes");
  return std::nullopt;
}

std::optional<bool> get_bool(Checker& c, const toml::node& n, const std::string& field) {
  if (const auto* b = n.as_boolean()) return b->get();
  c.wrong_type(n, field, "true or false");
  return std::nullopt;
}

TbRule parse_rule(Checker& c, const toml::table& t, const std::string& name) {
  TbRule r;
  const std::string p = name + ": ";
  c.known_keys(t, p,
               {"uuid", "id", "vendor_name", "device_name", "parent", "action", "iommu", "bind",
                "chain"});
  std::string problem;
  for (const char* key : {"uuid", "parent"}) {
    if (const toml::node* n = t.get(key)) {
      if (auto s = get_string(c, *n, p + key)) {
        auto u = canonical_uuid(*s, problem);
        if (!u)
          c.problem(n->source(), p + key, problem);
        else
          (std::string_view(key) == "uuid" ? r.uuid : r.parent) = *u;
      }
    }
  }
  if (const toml::node* n = t.get("id")) {
    if (auto s = get_string(c, *n, p + "id")) {
      auto id = parse_pci_id(*s, problem);
      if (!id)
        c.problem(n->source(), p + "id",
                  problem + " (the Thunderbolt vendor and device ID, see egpuctl tb list)");
      else
        r.id = *id;
    }
  }
  for (const char* key : {"vendor_name", "device_name"}) {
    if (const toml::node* n = t.get(key)) {
      if (auto s = get_string(c, *n, p + key)) {
        if (!valid_tb_name(*s, problem))
          c.problem(n->source(), p + key, fmt::format("'{}' {}", *s, problem));
        else
          (std::string_view(key) == "vendor_name" ? r.vendorName : r.deviceName) = *s;
      }
    }
  }
  if (const toml::node* n = t.get("action")) {
    if (auto s = get_string(c, *n, p + "action")) {
      if (*s == "authorize" || *s == "ignore")
        r.action = *s == "authorize" ? TbRule::Action::kAuthorize : TbRule::Action::kIgnore;
      else
        c.problem(n->source(), p + "action",
                  fmt::format("'{}' is not an action: give \"authorize\" or \"ignore\"", *s));
    }
  }
  if (const toml::node* n = t.get("iommu")) {
    if (auto s = get_string(c, *n, p + "iommu")) {
      if (*s == "required" || *s == "optional")
        r.iommuRequired = *s == "required";
      else
        c.problem(n->source(), p + "iommu",
                  fmt::format("'{}' is not an iommu setting: give \"required\" or \"optional\"",
                              *s));
    }
  }
  if (const toml::node* n = t.get("bind")) {
    if (const toml::array* a = n->as_array()) {
      for (size_t i = 0; i < a->size(); ++i) {
        const std::string f = fmt::format("{}bind[{}]", p, i + 1);
        if (auto s = get_string(c, *a->get(i), f)) {
          auto id = parse_pci_id(*s, problem);
          if (!id)
            c.problem(a->get(i)->source(), f, problem + " (a PCI function of the eGPU, lspci -nn)");
          else
            r.bind.push_back(*id);
        }
      }
      if (a->size() > EGPU_TB_BIND_MAX)
        c.problem(n->source(), p + "bind",
                  fmt::format("{} IDs, at most {} are allowed", a->size(), EGPU_TB_BIND_MAX));
    } else {
      c.wrong_type(*n, p + "bind", "an array of \"VENDOR:DEVICE\" strings");
    }
  }
  if (const toml::node* n = t.get("chain")) {
    if (auto b = get_bool(c, *n, p + "chain")) r.chain = *b;
  }
  if (!r.has_match() && !t.contains("uuid") && !t.contains("id") && !t.contains("vendor_name") &&
      !t.contains("device_name") && !t.contains("parent"))
    c.problem(t.source(), name,
              "no match key: give at least one of uuid, id, vendor_name, device_name, parent");
  else if (r.has_match() && r.bind.size() <= EGPU_TB_BIND_MAX) {
    const std::string limits = rule_limits_problem(r);
    if (!limits.empty()) c.problem(t.source(), name, limits);
  }
  return r;
}

void parse_tb(Checker& c, const toml::node& node, Policy& policy) {
  const toml::table* tb = node.as_table();
  if (tb == nullptr) return c.wrong_type(node, "tb", "a table ([[tb.rule]] entries)");
  c.known_keys(*tb, "tb.", {"rule"});
  const toml::node* rules = tb->get("rule");
  if (rules == nullptr) return;
  const toml::array* a = rules->as_array();
  if (a == nullptr) return c.wrong_type(*rules, "tb.rule", "[[tb.rule]] tables");
  if (a->size() > EGPU_TB_RULES_MAX)
    c.problem(rules->source(), "tb.rule",
              fmt::format("{} rules, at most {} are allowed", a->size(), EGPU_TB_RULES_MAX));
  for (size_t i = 0; i < a->size(); ++i) {
    const std::string name = fmt::format("tb.rule #{}", i + 1);
    const toml::node* n = a->get(i);
    if (const toml::table* t = n->as_table())
      policy.rules.push_back(parse_rule(c, *t, name));
    else
      c.wrong_type(*n, name, "a table");
  }
}

void parse_gpu(Checker& c, const toml::node& node, Policy& policy) {
  const toml::table* gpu = node.as_table();
  if (gpu == nullptr) return c.wrong_type(node, "gpu", "a table");
  c.known_keys(*gpu, "gpu.", {"ids"});
  const toml::node* ids = gpu->get("ids");
  if (ids == nullptr) return;
  const toml::table* t = ids->as_table();
  if (t == nullptr)
    return c.wrong_type(*ids, "gpu.ids", "a table of \"VENDOR:DEVICE\" = \"family\"");
  std::set<std::pair<uint16_t, uint16_t>> seen;
  // The table iterates in key order: go through the entries in file order.
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (auto&& [k, v] : *t) entries.emplace_back(&k, &v);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first->source().begin.line, a.first->source().begin.column) <
           std::tie(b.first->source().begin.line, b.first->source().begin.column);
  });
  for (auto [kp, vp] : entries) {
    const toml::key& k = *kp;
    const toml::node& v = *vp;
    const std::string field = fmt::format("gpu.ids.\"{}\"", k.str());
    std::string problem;
    auto id = parse_pci_id(k.str(), problem);
    if (!id) {
      c.problem(k.source(), field, problem + " (the GPU's PCI ID, lspci -nn)");
      continue;
    }
    if (!seen.insert({id->vendor, id->device}).second) {
      c.problem(k.source(), field, fmt::format("{} is given twice", format_pci_id(*id)));
      continue;
    }
    auto family = get_string(c, v, field);
    if (!family) continue;
    if (!valid_family(*family, problem)) {
      c.problem(v.source(), field, problem + " (e.g. \"vega10\")");
      continue;
    }
    policy.gpuIds.push_back(PolicyGpuId{*id, *family});
  }
}

void parse_teardown(Checker& c, const toml::node& node, Policy& policy) {
  const toml::table* t = node.as_table();
  if (t == nullptr) return c.wrong_type(node, "teardown", "a table");
  c.known_keys(*t, "teardown.", {"budget_ms"});
  if (const toml::node* n = t->get("budget_ms")) {
    const auto* i = n->as_integer();
    if (i == nullptr) return c.wrong_type(*n, "teardown.budget_ms", "an integer (milliseconds)");
    if (i->get() < EGPU_TEARDOWN_BUDGET_MIN_MS || i->get() > EGPU_TEARDOWN_BUDGET_MAX_MS)
      return c.problem(n->source(), "teardown.budget_ms",
                       fmt::format("{} is out of range: give {} to {} (milliseconds)", i->get(),
                                   EGPU_TEARDOWN_BUDGET_MIN_MS, EGPU_TEARDOWN_BUDGET_MAX_MS));
    policy.teardownBudgetMs = static_cast<uint32_t>(i->get());
  }
}

void parse_reset(Checker& c, const toml::node& node, Policy& policy) {
  const toml::table* t = node.as_table();
  if (t == nullptr) return c.wrong_type(node, "reset", "a table");
  c.known_keys(*t, "reset.", {"auto_reset_method", "leave_d0"});
  if (const toml::node* n = t->get("auto_reset_method"))
    policy.autoResetMethod = get_bool(c, *n, "reset.auto_reset_method");
  if (const toml::node* n = t->get("leave_d0"))
    policy.resetLeaveD0 = get_bool(c, *n, "reset.leave_d0");
}

toml::table parse_toml(std::string_view text, const std::string& source) {
  // toml++ 3.3 must not read non-ASCII outside strings and comments (UB).
  if (const auto f = find_unsafe_non_ascii(text))
    throw PolicyError({PolicyProblem{source, f->line, f->column, "", f->message}});
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw PolicyError({PolicyProblem{source, e.source().begin.line, e.source().begin.column, "",
                                     "TOML syntax: " + std::string(e.description())}});
  }
}

// A TOML basic string.
std::string quote(std::string_view s) {
  std::string r = "\"";
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"': r += "\\\""; break;
      case '\\': r += "\\\\"; break;
      case '\n': r += "\\n"; break;
      case '\t': r += "\\t"; break;
      default:
        if (u < 0x20 || u == 0x7f)
          r += fmt::format("\\u{:04X}", u);
        else
          r += ch;
    }
  }
  return r + "\"";
}

}  // namespace

PolicyError::PolicyError(std::vector<PolicyProblem> problems)
    : Error(ExitCode::kFailure, join_problems(problems)), problems_(std::move(problems)) {}

Policy parse_policy(std::string_view text, const std::string& source) {
  const toml::table doc = parse_toml(text, source);
  Checker c(source);
  Policy policy;
  c.known_keys(doc, "", {"tb", "gpu", "teardown", "reset"});
  if (const toml::node* n = doc.get("tb")) parse_tb(c, *n, policy);
  if (const toml::node* n = doc.get("gpu")) parse_gpu(c, *n, policy);
  if (const toml::node* n = doc.get("teardown")) parse_teardown(c, *n, policy);
  if (const toml::node* n = doc.get("reset")) parse_reset(c, *n, policy);
  if (!c.problems().empty()) {
    std::vector<PolicyProblem> sorted = c.problems();
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
      return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    throw PolicyError(std::move(sorted));
  }
  return policy;
}

std::string rule_toml(const TbRule& r, std::string_view comment) {
  std::string s = "[[tb.rule]]\n";
  if (!comment.empty()) s += "# " + std::string(comment) + "\n";
  if (r.uuid) s += "uuid = " + quote(*r.uuid) + "\n";
  if (r.id) s += "id = " + quote(format_pci_id(*r.id)) + "\n";
  if (r.vendorName) s += "vendor_name = " + quote(*r.vendorName) + "\n";
  if (r.deviceName) s += "device_name = " + quote(*r.deviceName) + "\n";
  if (r.parent) s += "parent = " + quote(*r.parent) + "\n";
  if (r.action == TbRule::Action::kIgnore) s += "action = \"ignore\"\n";
  if (!r.iommuRequired) s += "iommu = \"optional\"\n";
  if (!r.bind.empty()) {
    s += "bind = [";
    for (size_t i = 0; i < r.bind.size(); ++i) s += (i ? ", " : "") + quote(format_pci_id(r.bind[i]));
    s += "]\n";
  }
  if (r.chain) s += "chain = true\n";
  return s;
}

std::string write_policy_toml(const Policy& p) {
  std::string s =
      "# egpu-gate policy: Thunderbolt rules, GPU IDs, teardown and reset settings.\n"
      "# Schema: egpu-gate(7).  Check with `egpuctl policy check`, make it live and\n"
      "# the boot-time default with `egpuctl policy apply`.\n";
  for (const TbRule& r : p.rules) s += "\n" + rule_toml(r);
  if (!p.gpuIds.empty()) {
    s += "\n[gpu.ids]\n";
    for (const PolicyGpuId& g : p.gpuIds)
      s += fmt::format("\"{}\" = {}\n", format_pci_id(g.id), quote(g.family));
  }
  if (p.teardownBudgetMs) s += fmt::format("\n[teardown]\nbudget_ms = {}\n", *p.teardownBudgetMs);
  if (p.autoResetMethod || p.resetLeaveD0) {
    s += "\n[reset]\n";
    if (p.autoResetMethod)
      s += fmt::format("auto_reset_method = {}\n", *p.autoResetMethod ? "true" : "false");
    if (p.resetLeaveD0) s += fmt::format("leave_d0 = {}\n", *p.resetLeaveD0 ? "true" : "false");
  }
  return s;
}

Policy apply_rule_edit(const Policy& policy, const RuleEdit& edit) {
  Policy out = policy;
  out.rules.clear();
  const size_t n = policy.rules.size();
  for (size_t i = 0; i <= n; ++i) {
    if (i == std::min(edit.insertAt, n))
      out.rules.insert(out.rules.end(), edit.insert.begin(), edit.insert.end());
    if (i < n && std::find(edit.remove.begin(), edit.remove.end(), i) == edit.remove.end())
      out.rules.push_back(policy.rules[i]);
  }
  return out;
}

namespace {

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::string_view strip(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Lines (1-based) where a table is defined by a header, from the parser.
void header_lines(const toml::table& t, std::set<uint32_t>& out) {
  for (auto&& [k, v] : t) {
    if (const toml::table* sub = v.as_table()) {
      if (sub->is_inline()) continue;
      out.insert(sub->source().begin.line);
      header_lines(*sub, out);
    } else if (const toml::array* a = v.as_array()) {
      for (const toml::node& el : *a) {
        if (const toml::table* sub = el.as_table(); sub != nullptr && !sub->is_inline()) {
          out.insert(sub->source().begin.line);
          header_lines(*sub, out);
        }
      }
    }
  }
}

// The text edit, or "" when the layout is not one it can edit.
std::string edit_in_place(std::string_view text, const std::string& source, const Policy& policy,
                          const RuleEdit& edit) {
  const toml::table doc = parse_toml(text, source);
  const std::vector<std::string> lines = split_lines(text);
  // Header line (0-based) of each rule.
  std::vector<size_t> rule_line;
  if (const toml::array* a = doc.at_path("tb.rule").as_array()) {
    for (const toml::node& el : *a) {
      const toml::table* t = el.as_table();
      if (t == nullptr || t->is_inline() || t->source().begin.line == 0) return "";
      const size_t l = t->source().begin.line - 1;
      if (l >= lines.size()) return "";
      std::string h;
      for (char ch : strip(lines[l]))
        if (ch != ' ' && ch != '\t' && ch != '"' && ch != '\'') h += ch;
      if (h.rfind("[[tb.rule]]", 0) != 0) return "";
      rule_line.push_back(l);
    }
  }
  if (rule_line.size() != policy.rules.size()) return "";
  std::set<uint32_t> headers1;
  header_lines(doc, headers1);
  std::vector<size_t> headers;
  for (uint32_t h : headers1)
    if (h > 0) headers.push_back(h - 1);
  // A header's block starts at the comment lines directly above it.
  auto block_start = [&](size_t header) {
    size_t s = header;
    while (s > 0 && strip(lines[s - 1]).starts_with("#")) --s;
    return s;
  };
  auto block_end = [&](size_t header) {
    for (size_t h : headers)
      if (h > header) return std::max(block_start(h), header + 1);
    return lines.size();
  };
  const size_t n = rule_line.size();
  std::string block;
  for (const TbRule& r : edit.insert) block += rule_toml(r, edit.comment) + "\n";
  // Where the new rules go (a line index; inserted before that line).
  size_t at;
  if (n == 0)
    at = lines.size();
  else if (edit.insertAt < n)
    at = block_start(rule_line[edit.insertAt]);
  else
    at = block_end(rule_line[n - 1]);
  std::vector<bool> drop(lines.size(), false);
  for (size_t i : edit.remove) {
    if (i >= n) return "";
    for (size_t l = block_start(rule_line[i]); l < block_end(rule_line[i]); ++l) drop[l] = true;
  }
  std::string out;
  auto emit_block = [&]() {
    if (block.empty()) return;
    if (!out.empty() && !out.ends_with("\n\n")) out += out.ends_with("\n") ? "\n" : "\n\n";
    out += block;
  };
  for (size_t l = 0; l < lines.size(); ++l) {
    if (l == at) emit_block();
    if (!drop[l]) out += lines[l] + "\n";
  }
  if (at >= lines.size()) emit_block();
  // No trailing blank lines piling up.
  while (out.ends_with("\n\n")) out.pop_back();
  return out;
}

}  // namespace

std::string edit_policy_text(std::string_view text, const std::string& source,
                             const Policy& policy, const RuleEdit& edit, bool* rewritten) {
  const Policy expected = apply_rule_edit(policy, edit);
  std::string out;
  try {
    out = edit_in_place(text, source, policy, edit);
    if (!out.empty() && parse_policy(out, source) != expected) out.clear();
  } catch (const PolicyError&) {
    out.clear();
  }
  if (rewritten != nullptr) *rewritten = out.empty();
  if (out.empty()) out = write_policy_toml(expected);
  return out;
}

}  // namespace egpuctl
