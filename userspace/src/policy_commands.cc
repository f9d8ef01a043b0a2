#include "policy_commands.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "egpu_gate.h"
#include "error.h"
#include "policy.h"
#include "policy_apply.h"
#include "policy_toml.h"
#include "status_report.h"
#include "system.h"

namespace po = boost::program_options;

namespace egpuctl {

Command policy_command() {
  return Command{
      .name = "policy",
      .summary = "show, check and apply the persistent policy (policy.toml)",
      .run = nullptr,
      .subcommands =
          {
              {.name = "show",
               .summary = "show the policy file next to what is live, and the differences",
               .run = cmd_policy_show,
               .description =
                   "Show the Thunderbolt rules and settings of /etc/egpu-gate/policy.toml next\n"
                   "to those live in module egpu_gate, and every difference (also whether\n"
                   "/etc/modprobe.d/egpu-gate.conf is up to date).  Exit status 0 either way.\n"},
              {.name = "check",
               .summary = "validate a policy file",
               .run = cmd_policy_check,
               .description =
                   "Validate FILE (default /etc/egpu-gate/policy.toml) against the schema of\n"
                   "egpu-gate(7).  Every problem is printed as FILE:LINE:COLUMN: FIELD: what is\n"
                   "wrong; exit status 1 when there is one.  Does not need the module.\n"},
              {.name = "apply",
               .summary = "make the policy live and the boot-time default",
               .run = cmd_policy_apply,
               .description =
                   "Validate FILE (default /etc/egpu-gate/policy.toml; another FILE is\n"
                   "installed as that file), set its rules, settings and GPU IDs live in\n"
                   "module egpu_gate, render /etc/modprobe.d/egpu-gate.conf and run\n"
                   "update-initramfs -u -k all, so the policy holds from the first device at\n"
                   "boot.  Each step is atomic; when one fails, the steps before it are undone\n"
                   "and the message says which step failed and what is in force now.  Without\n"
                   "the module loaded, only the files are written.  --offline writes the files\n"
                   "and updates the initramfs without contacting the module or touching /sys\n"
                   "(a chroot, an installer): the policy takes effect at the next boot.\n"},
          },
  };
}

std::vector<Command> tb_policy_commands() {
  return {
      {.name = "rules",
       .summary = "list the live Thunderbolt rules",
       .run = cmd_tb_rules,
       .description = "List the Thunderbolt rules live in module egpu_gate, in match order (the\n"
                      "first match decides): ID, devices matched so far, canonical text.\n"},
      {.name = "allow",
       .summary = "authorize a present Thunderbolt device from now on (adds a rule)",
       .run = cmd_tb_allow,
       .description =
           "Add a rule for the present Thunderbolt device DEV (its name, e.g. 0-1) to\n"
           "the policy and apply it: it matches the device's UUID (--by uuid, the\n"
           "default), its vendor and device ID (--by id: every such device) or its\n"
           "vendor and device names (--by name).  The rule goes before any other rule\n"
           "that matches the device, replacing the device's own UUID rules.\n"
           "--no-persist changes the live rules only.\n"},
      {.name = "deny",
       .summary = "stop authorizing a Thunderbolt device (removes or overrides rules)",
       .run = cmd_tb_deny,
       .description =
           "Remove the rules of the Thunderbolt device DEV (by its UUID) from the\n"
           "policy and apply it; when another rule still matches the device, an\n"
           "action=ignore rule for its UUID is put before it.  An authorized device\n"
           "stays authorized until unplugged or 'egpuctl tb deauthorize DEV'.\n"
           "--no-persist changes the live rules only.\n"},
  };
}

namespace {

FileTree& files_of(Context& ctx) { return ctx.system().files(); }

CommandRunner& programs_of(Context& ctx) { return ctx.system().runner(); }

void add_root(ArgParser& p, std::string* root) {
  p.options().add_options()("root", po::value(root)->value_name("DIR"),
                            "use the /etc of the tree DIR (tests, chroots)");
}

struct LoadedPolicy {
  std::string path;
  std::optional<std::string> text;  // empty: no file
  Policy policy;
};

LoadedPolicy load(Context& ctx, const std::string& path, bool must_exist) {
  LoadedPolicy l{path, files_of(ctx).read_file(path), {}};
  if (!l.text && must_exist)
    throw Error(ExitCode::kFailure, fmt::format("{} does not exist", path));
  if (l.text) l.policy = parse_policy(*l.text, path);
  return l;
}

Json rule_json(const TbRuleEntry& r) {
  Json j;
  j["id"] = r.id;
  j["hits"] = r.hits ? Json(*r.hits) : Json(nullptr);
  j["text"] = r.text;
  return j;
}

Json config_json(const ConfigChange& c) {
  Json j;
  j["auto_reset_method"] = c.autoResetMethod ? Json(*c.autoResetMethod != 0) : Json(nullptr);
  j["teardown_budget_ms"] = c.teardownBudgetMs ? Json(*c.teardownBudgetMs) : Json(nullptr);
  j["reset_leave_d0"] = c.resetLeaveD0 ? Json(*c.resetLeaveD0 != 0) : Json(nullptr);
  return j;
}

std::string opt_str(const std::optional<uint8_t>& v) {
  return v ? std::to_string(*v) : std::string("(not reported)");
}
std::string opt_str(const std::optional<uint32_t>& v) {
  return v ? std::to_string(*v) : std::string("(not reported)");
}

}  // namespace

int cmd_policy_check(Invocation& inv) {
  ArgParser p(inv);
  std::string root = "/";
  add_root(p, &root);
  p.add_json();
  p.add_positional("FILE", 1);
  if (!p.parse()) return 0;
  const PolicyPaths paths{root};
  const bool given = !p.positional().empty();
  const std::string path = given ? p.positional().front() : paths.policy();
  Json j;
  j["file"] = path;
  std::optional<std::string> text = files_of(inv.ctx).read_file(path);
  if (!text) {
    if (given) throw Error(ExitCode::kFailure, fmt::format("{} does not exist", path));
    if (p.json()) {
      j["exists"] = false;
      j["valid"] = true;
      j["problems"] = Json::array();
      print_json(inv.ctx.out, j);
    } else {
      inv.ctx.out << fmt::format(
          "{}: no such file: no rules (default deny), the module's default settings\n", path);
    }
    return 0;
  }
  j["exists"] = true;
  try {
    const Policy policy = parse_policy(*text, path);
    if (p.json()) {
      j["valid"] = true;
      j["problems"] = Json::array();
      Json rules = Json::array();
      for (const TbRule& r : policy.rules) rules.push_back(rule_text(r));
      j["rules"] = rules;
      print_json(inv.ctx.out, j);
      return 0;
    }
    inv.ctx.out << fmt::format("{}: valid: {} Thunderbolt rule{}, {} GPU ID{}\n", path,
                               policy.rules.size(), policy.rules.size() == 1 ? "" : "s",
                               policy.gpuIds.size(), policy.gpuIds.size() == 1 ? "" : "s");
    for (size_t i = 0; i < policy.rules.size(); ++i)
      inv.ctx.out << fmt::format("  rule {}: {}\n", i + 1, rule_text(policy.rules[i]));
    return 0;
  } catch (const PolicyError& e) {
    if (p.json()) {
      j["valid"] = false;
      Json problems = Json::array();
      for (const PolicyProblem& pr : e.problems()) {
        Json pj;
        pj["line"] = pr.line;
        pj["column"] = pr.column;
        pj["field"] = pr.field;
        pj["message"] = pr.message;
        problems.push_back(pj);
      }
      j["problems"] = problems;
      print_json(inv.ctx.out, j);
    } else {
      for (const PolicyProblem& pr : e.problems()) inv.ctx.err << pr.str() << "\n";
      inv.ctx.err << fmt::format("egpuctl: {}: {} problem{}: nothing applied\n", path,
                                 e.problems().size(), e.problems().size() == 1 ? "" : "s");
    }
    return static_cast<int>(ExitCode::kFailure);
  }
}

int cmd_policy_apply(Invocation& inv) {
  ArgParser p(inv);
  std::string root = "/";
  bool no_initramfs = false;
  bool offline = false;
  add_root(p, &root);
  p.options().add_options()("no-initramfs", po::bool_switch(&no_initramfs),
                            "do not run update-initramfs")(
      "offline", po::bool_switch(&offline),
      "files and initramfs only: never contact the module nor touch /sys (chroots, "
      "installers)");
  p.add_positional("FILE", 1);
  if (!p.parse()) return 0;
  // Before anything else: from here on nothing can reach the module or
  // /sys (a netlink family lookup can make the kernel load egpu_gate).
  if (offline) inv.ctx.forbid_live("policy apply --offline");
  const PolicyPaths paths{root};
  const bool given = !p.positional().empty() && p.positional().front() != paths.policy();
  const LoadedPolicy l = load(inv.ctx, given ? p.positional().front() : paths.policy(), given);
  ApplyEnv env{files_of(inv.ctx), programs_of(inv.ctx), {}, inv.ctx.out};
  if (!offline) env.control = [&inv]() -> Control& { return inv.ctx.control(); };
  ApplyOptions options;
  options.live = !offline;
  options.initramfs = !no_initramfs;
  // Another FILE becomes the policy file (one source of truth).
  std::optional<std::string> install;
  if (given) install = *l.text;
  apply_policy(env, l.policy, paths, install, paths.policy(), options);
  inv.ctx.out << fmt::format("{} {}: {} Thunderbolt rule{}, {} GPU ID{}{}\n",
                             offline ? "written" : "applied", l.path, l.policy.rules.size(),
                             l.policy.rules.size() == 1 ? "" : "s", l.policy.gpuIds.size(),
                             l.policy.gpuIds.size() == 1 ? "" : "s",
                             offline ? " (offline: for the next boot, nothing live)" : "");
  return 0;
}

int cmd_policy_show(Invocation& inv) {
  ArgParser p(inv);
  std::string root = "/";
  add_root(p, &root);
  p.add_json();
  if (!p.parse()) return 0;
  const PolicyPaths paths{root};
  const LoadedPolicy l = load(inv.ctx, paths.policy(), false);
  // Live state; the module may be absent.
  std::optional<std::vector<TbRuleEntry>> live_rules;
  std::optional<Config> live_config;
  std::string live_problem;
  try {
    const Status s = inv.ctx.control().status();
    live_config = s.config ? *s.config : Config{};
    live_rules = egpuctl::live_rules(inv.ctx.control());
    if (!live_rules) live_problem = "the module has no Thunderbolt rule commands";
  } catch (const Error& e) {
    if (e.code() == ExitCode::kPermission) throw;
    live_problem = e.what();
  }
  std::vector<std::string> file_rules, live_texts, diffs;
  for (const TbRule& r : l.policy.rules) file_rules.push_back(rule_text(r));
  if (live_rules)
    for (const TbRuleEntry& r : *live_rules) live_texts.push_back(r.text);
  const ConfigChange want = desired_config(l.policy, live_config);
  if (live_rules && live_texts != file_rules) {
    for (const std::string& t : file_rules)
      if (std::find(live_texts.begin(), live_texts.end(), t) == live_texts.end())
        diffs.push_back("rule not live: " + t);
    for (const std::string& t : live_texts)
      if (std::find(file_rules.begin(), file_rules.end(), t) == file_rules.end())
        diffs.push_back("live rule not in the file: " + t);
    if (diffs.empty()) diffs.push_back("the live rules are in another order");
  }
  if (live_config) {
    if (want.autoResetMethod != live_config->autoResetMethod)
      diffs.push_back(fmt::format("auto_reset_method: file {}, live {}",
                                  opt_str(want.autoResetMethod),
                                  opt_str(live_config->autoResetMethod)));
    if (want.teardownBudgetMs != live_config->teardownBudgetMs)
      diffs.push_back(fmt::format("teardown_budget_ms: file {}, live {}",
                                  opt_str(want.teardownBudgetMs),
                                  opt_str(live_config->teardownBudgetMs)));
    if (want.resetLeaveD0 && want.resetLeaveD0 != live_config->resetLeaveD0)
      diffs.push_back(fmt::format("reset_leave_d0: file {}, live {}", opt_str(want.resetLeaveD0),
                                  opt_str(live_config->resetLeaveD0)));
  }
  const std::optional<std::string> conf = files_of(inv.ctx).read_file(paths.modprobe());
  const std::string conf_state = !conf ? "missing"
                                 : *conf == render_modprobe_conf(l.policy, paths.policy())
                                     ? "up to date"
                                     : "out of date";
  if (conf_state != "up to date")
    diffs.push_back(fmt::format("{} is {}: the boot-time policy differs", paths.modprobe(),
                                conf_state));
  std::vector<std::string> gpu_ids;
  for (const PolicyGpuId& g : l.policy.gpuIds)
    gpu_ids.push_back(format_pci_id(g.id) + "=" + g.family);

  if (p.json()) {
    Json j;
    j["file"] = l.path;
    j["file_exists"] = l.text.has_value();
    Json f;
    f["rules"] = file_rules;
    f["gpu_ids"] = gpu_ids;
    f["config"] = config_json(want);
    j["policy"] = f;
    if (live_config) {
      Json lj;
      if (live_rules) {
        Json rules = Json::array();
        for (const TbRuleEntry& r : *live_rules) rules.push_back(rule_json(r));
        lj["rules"] = rules;
      } else {
        lj["rules"] = nullptr;
      }
      lj["config"] = config_json(ConfigChange{live_config->autoResetMethod,
                                              live_config->teardownBudgetMs,
                                              live_config->resetLeaveD0});
      j["live"] = lj;
    } else {
      j["live"] = nullptr;
    }
    j["live_problem"] = live_problem.empty() ? Json(nullptr) : Json(live_problem);
    j["modprobe_conf"] = paths.modprobe();
    j["modprobe_conf_state"] = conf_state;
    j["differences"] = diffs;
    j["in_sync"] = diffs.empty() && live_config.has_value();
    print_json(inv.ctx.out, j);
    return 0;
  }
  std::ostream& out = inv.ctx.out;
  out << fmt::format("policy file: {}{}\n", l.path, l.text ? "" : " (none: no rules, defaults)");
  out << fmt::format("modprobe.d:  {} ({})\n", paths.modprobe(), conf_state);
  out << fmt::format("file rules ({}):\n", file_rules.size());
  for (size_t i = 0; i < file_rules.size(); ++i)
    out << fmt::format("  {}. {}\n", i + 1, file_rules[i]);
  if (live_rules) {
    out << fmt::format("live rules ({}):\n", live_rules->size());
    for (const TbRuleEntry& r : *live_rules)
      out << fmt::format("  id {}: {} (hits {})\n", r.id, r.text,
                         r.hits ? std::to_string(*r.hits) : "?");
  } else {
    out << fmt::format("live rules:  unavailable: {}\n", live_problem);
  }
  KeyValueTable t;
  t.section("settings (file / live)");
  auto row = [&](const char* key, const std::string& file, const std::string& live) {
    t.add(key, file + " / " + live, 1);
  };
  row("auto_reset_method", opt_str(want.autoResetMethod),
      live_config ? opt_str(live_config->autoResetMethod) : "-");
  row("teardown_budget_ms", opt_str(want.teardownBudgetMs),
      live_config ? opt_str(live_config->teardownBudgetMs) : "-");
  row("reset_leave_d0", want.resetLeaveD0 ? opt_str(want.resetLeaveD0) : "(default)",
      live_config ? opt_str(live_config->resetLeaveD0) : "-");
  t.add("gpu ids", gpu_ids.empty() ? "none" : fmt::format("{}", fmt::join(gpu_ids, " ")), 1);
  t.print(out);
  if (!gpu_ids.empty())
    out << "  (live GPU IDs: /sys/module/egpu_gate/parameters/gpu_ids; not compared)\n";
  if (!live_config)
    out << "differences: live state unavailable\n";
  else if (diffs.empty())
    out << "differences: none: the policy file is in force\n";
  else
    for (const std::string& d : diffs) out << "difference: " << d << "\n";
  return 0;
}

int cmd_tb_rules(Invocation& inv) {
  ArgParser p(inv);
  p.add_json();
  if (!p.parse()) return 0;
  const std::vector<TbRuleEntry> rules = inv.ctx.control().tbRules();
  if (p.json()) {
    Json j = Json::array();
    for (const TbRuleEntry& r : rules) j.push_back(rule_json(r));
    print_json(inv.ctx.out, j);
    return 0;
  }
  if (rules.empty()) {
    inv.ctx.out << "no rules: egpu-gate authorizes no Thunderbolt device (default deny)\n";
    return 0;
  }
  size_t w_id = 2, w_hits = 4;
  for (const TbRuleEntry& r : rules) {
    w_id = std::max(w_id, std::to_string(r.id).size());
    w_hits = std::max(w_hits, r.hits ? std::to_string(*r.hits).size() : 1);
  }
  inv.ctx.out << fmt::format("{:<{}}  {:>{}}  {}\n", "ID", w_id, "HITS", w_hits, "RULE");
  for (const TbRuleEntry& r : rules)
    inv.ctx.out << fmt::format("{:<{}}  {:>{}}  {}\n", r.id, w_id,
                               r.hits ? std::to_string(*r.hits) : "-", w_hits, r.text);
  return 0;
}

namespace {

struct TbEditArgs {
  std::string root = "/";
  bool no_persist = false;
  bool no_initramfs = false;
};

void add_edit_options(ArgParser& p, TbEditArgs& a) {
  p.options().add_options()("no-persist", po::bool_switch(&a.no_persist),
                            "change the live rules only (policy.toml untouched)")(
      "no-initramfs", po::bool_switch(&a.no_initramfs), "do not run update-initramfs");
  add_root(p, &a.root);
}

// The device DEV and its parent's UUID.
std::pair<TbDeviceInfo, std::optional<std::string>> find_device(Invocation& inv,
                                                                const std::string& name) {
  Control& c = inv.ctx.control();
  std::optional<TbDeviceInfo> dev = c.tbDevice(name);
  if (!dev)
    throw Error(ExitCode::kFailure,
                fmt::format("no Thunderbolt device '{}': give a device name as 'egpuctl tb list' "
                            "shows it, e.g. 0-1",
                            name));
  std::optional<std::string> parent_uuid;
  if (dev->parent)
    if (std::optional<TbDeviceInfo> parent = c.tbDevice(*dev->parent))
      parent_uuid = parent->uniqueId;
  return {*dev, parent_uuid};
}

// Index of the first rule (in `rules`, skipping `removed`) that matches.
size_t first_match(const std::vector<TbRule>& rules, const std::vector<size_t>& removed,
                   const TbDeviceInfo& dev, const std::optional<std::string>& parent_uuid) {
  for (size_t i = 0; i < rules.size(); ++i)
    if (std::find(removed.begin(), removed.end(), i) == removed.end() &&
        rule_matches(rules[i], dev, parent_uuid))
      return i;
  return rules.size();
}

// The device's own rules: those matching by its UUID alone.
std::vector<size_t> own_rules(const std::vector<TbRule>& rules, const std::string& uuid) {
  std::vector<size_t> idx;
  for (size_t i = 0; i < rules.size(); ++i) {
    const TbRule& r = rules[i];
    if (r.uuid == uuid && !r.id && !r.vendorName && !r.deviceName && !r.parent) idx.push_back(i);
  }
  return idx;
}

// Applies `edit` to the policy file (and everything else) or, with
// --no-persist, to the live rules only.  Prints what happened.
void run_edit(Invocation& inv, const TbEditArgs& a,
              const std::function<RuleEdit(const std::vector<TbRule>&)>& make_edit) {
  Control& control = inv.ctx.control();
  if (a.no_persist) {
    std::vector<TbRule> live;
    for (const TbRuleEntry& r : control.tbRules()) {
      try {
        live.push_back(parse_rule_text(r.text));
      } catch (const RuleSyntaxError& e) {
        throw Error(ExitCode::kFailure,
                    fmt::format("live rule {} ('{}') cannot be read by this egpuctl: {}", r.id,
                                r.text, e.what()));
      }
    }
    const RuleEdit e = make_edit(live);
    Policy pl;
    pl.rules = live;
    const Policy after = apply_rule_edit(pl, e);
    if (after.rules == live) {
      inv.ctx.out << "live rules unchanged\n";
      return;
    }
    control.setTbRules(rules_text(after.rules));
    inv.ctx.out << fmt::format("live rules set ({}); {} not changed (--no-persist)\n",
                               after.rules.size(), PolicyPaths{a.root}.policy());
    return;
  }
  const PolicyPaths paths{a.root};
  const LoadedPolicy l = load(inv.ctx, paths.policy(), false);
  const RuleEdit e = make_edit(l.policy.rules);
  const Policy after = apply_rule_edit(l.policy, e);
  bool rewritten = false;
  const std::string base = l.text ? *l.text : write_policy_toml(Policy{});
  const std::string text = edit_policy_text(base, paths.policy(), l.policy, e, &rewritten);
  if (after == l.policy)
    inv.ctx.out << fmt::format("{}: no change needed; applying it\n", paths.policy());
  else if (rewritten && l.text)
    inv.ctx.out << fmt::format(
        "note: {} is laid out in a way egpuctl cannot edit in place: written anew (its "
        "comments are lost)\n",
        paths.policy());
  ApplyEnv env{files_of(inv.ctx), programs_of(inv.ctx),
               [&control]() -> Control& { return control; }, inv.ctx.out};
  ApplyOptions options;
  options.initramfs = !a.no_initramfs;
  options.require_module = true;
  apply_policy(env, after, paths,
               after == l.policy ? std::optional<std::string>() : std::optional<std::string>(text),
               paths.policy(), options);
}

std::vector<PciId> parse_bind(const std::string& path, const std::string& arg) {
  std::vector<PciId> ids;
  size_t start = 0;
  while (start <= arg.size()) {
    size_t end = arg.find(',', start);
    if (end == std::string::npos) end = arg.size();
    std::string problem;
    auto id = parse_pci_id(arg.substr(start, end - start), problem);
    if (!id) throw usage_error(fmt::format("{}: --bind: {}", path, problem));
    ids.push_back(*id);
    start = end + 1;
  }
  if (ids.size() > EGPU_TB_BIND_MAX)
    throw usage_error(fmt::format("{}: --bind: {} IDs, at most {}", path, ids.size(),
                                  EGPU_TB_BIND_MAX));
  return ids;
}

std::string device_label(const TbDeviceInfo& d) {
  std::string s = d.name;
  if (d.vendorName || d.deviceName)
    s += fmt::format(" ({}{}{})", d.vendorName.value_or(""),
                     d.vendorName && d.deviceName ? " " : "", d.deviceName.value_or(""));
  return s;
}

}  // namespace

int cmd_tb_allow(Invocation& inv) {
  ArgParser p(inv);
  TbEditArgs a;
  std::string by = "uuid", bind;
  bool chain = false, no_iommu = false;
  p.options().add_options()("by", po::value(&by)->value_name("uuid|id|name"),
                            "match the device by its UUID (default), its vendor:device ID or "
                            "its vendor and device names")(
      "bind", po::value(&bind)->value_name("V:D,..."),
      "PCI functions below the device to bind to vfio-pci, e.g. 1002:687f,1002:aaf8")(
      "chain", po::bool_switch(&chain), "authorize unauthorized parents first")(
      "no-iommu-required", po::bool_switch(&no_iommu),
      "authorize even on a domain without IOMMU DMA protection");
  add_edit_options(p, a);
  p.add_positional("DEV", 1);
  if (!p.parse()) return 0;
  if (p.positional().empty())
    throw usage_error(fmt::format("{}: give the device's name, e.g. '{} 0-1' (see egpuctl tb list)",
                                  inv.path, inv.path));
  if (by != "uuid" && by != "id" && by != "name")
    throw usage_error(fmt::format("{}: --by {}: give uuid, id or name", inv.path, by));
  const std::vector<PciId> bind_ids = bind.empty() ? std::vector<PciId>{} : parse_bind(inv.path, bind);
  // (no structured binding: clang 14 cannot capture one in a lambda)
  const auto found = find_device(inv, p.positional().front());
  const TbDeviceInfo& dev = found.first;
  const std::optional<std::string>& parent_uuid = found.second;

  TbRule rule;
  std::string problem;
  if (by == "uuid") {
    if (!dev.uniqueId || !canonical_uuid(*dev.uniqueId, problem))
      throw Error(ExitCode::kFailure,
                  fmt::format("{} reports no usable UUID: use --by id or --by name", dev.name));
    rule.uuid = canonical_uuid(*dev.uniqueId, problem);
  } else if (by == "id") {
    if (!dev.vendor || !dev.device || *dev.vendor > 0xffff || *dev.device > 0xffff)
      throw Error(ExitCode::kFailure,
                  fmt::format("{} reports no vendor and device ID: use --by uuid", dev.name));
    rule.id = PciId{static_cast<uint16_t>(*dev.vendor), static_cast<uint16_t>(*dev.device)};
  } else {
    if (!dev.vendorName || !dev.deviceName || !valid_tb_name(*dev.vendorName, problem) ||
        !valid_tb_name(*dev.deviceName, problem))
      throw Error(ExitCode::kFailure,
                  fmt::format("{} has no vendor and device names a rule can match: use --by "
                              "uuid",
                              dev.name));
    rule.vendorName = dev.vendorName;
    rule.deviceName = dev.deviceName;
  }
  rule.bind = bind_ids;
  rule.chain = chain;
  rule.iommuRequired = !no_iommu;
  if (const std::string lim = rule_limits_problem(rule); !lim.empty())
    throw Error(ExitCode::kFailure, fmt::format("{}: {}", inv.path, lim));
  const std::string comment = fmt::format("{}: added by egpuctl tb allow", device_label(dev));

  auto make_edit = [&](const std::vector<TbRule>& rules) {
    RuleEdit e;
    // Replace the device's own UUID rules and rules with the same match.
    if (dev.uniqueId)
      if (auto u = canonical_uuid(*dev.uniqueId, problem)) e.remove = own_rules(rules, *u);
    for (size_t i = 0; i < rules.size(); ++i) {
      const TbRule& r = rules[i];
      if (r.uuid == rule.uuid && r.id == rule.id && r.vendorName == rule.vendorName &&
          r.deviceName == rule.deviceName && r.parent == rule.parent &&
          std::find(e.remove.begin(), e.remove.end(), i) == e.remove.end())
        e.remove.push_back(i);
    }
    // Unchanged when the rule is already there, first for this device.
    const size_t first = first_match(rules, {}, dev, parent_uuid);
    if (first < rules.size() && rules[first] == rule) return RuleEdit{};
    // Before every other rule that matches the device; in place of the
    // first rule it replaces.
    e.insertAt = first_match(rules, e.remove, dev, parent_uuid);
    for (size_t i : e.remove) e.insertAt = std::min(e.insertAt, i);
    e.insert = {rule};
    e.comment = comment;
    return e;
  };
  run_edit(inv, a, make_edit);
  inv.ctx.out << fmt::format("{}: allowed by rule: {}\n", dev.name, rule_text(rule));
  return 0;
}

int cmd_tb_deny(Invocation& inv) {
  ArgParser p(inv);
  TbEditArgs a;
  add_edit_options(p, a);
  p.add_positional("DEV", 1);
  if (!p.parse()) return 0;
  if (p.positional().empty())
    throw usage_error(fmt::format("{}: give the device's name, e.g. '{} 0-1' (see egpuctl tb list)",
                                  inv.path, inv.path));
  // (no structured binding: clang 14 cannot capture one in a lambda)
  const auto found = find_device(inv, p.positional().front());
  const TbDeviceInfo& dev = found.first;
  const std::optional<std::string>& parent_uuid = found.second;
  std::string problem;
  std::optional<std::string> uuid;
  if (dev.uniqueId) uuid = canonical_uuid(*dev.uniqueId, problem);
  if (!uuid)
    throw Error(ExitCode::kFailure,
                fmt::format("{} reports no usable UUID: edit the rules in {} by hand", dev.name,
                            PolicyPaths{a.root}.policy()));
  auto make_edit = [&](const std::vector<TbRule>& rules) {
    RuleEdit e;
    e.remove = own_rules(rules, *uuid);
    const size_t first = first_match(rules, e.remove, dev, parent_uuid);
    if (first < rules.size() && rules[first].action == TbRule::Action::kAuthorize) {
      TbRule ignore;
      ignore.uuid = uuid;
      ignore.action = TbRule::Action::kIgnore;
      e.insertAt = first;
      e.insert = {ignore};
      e.comment = fmt::format("{}: denied by egpuctl tb deny (overrides the next rule)",
                              device_label(dev));
    }
    return e;
  };
  run_edit(inv, a, make_edit);
  inv.ctx.out << fmt::format("{}: no longer authorized by egpu-gate\n", dev.name);
  if (dev.authorized && *dev.authorized != 0)
    inv.ctx.out << fmt::format(
        "note: {} is authorized now and stays so until unplugged or 'egpuctl tb deauthorize "
        "{}'\n",
        dev.name, dev.name);
  return 0;
}

}  // namespace egpuctl
