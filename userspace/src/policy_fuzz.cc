// libFuzzer entry point for the policy parser (opt-in, clang only; toml++
// is then built header-only so its parser is instrumented too):
//
//   CXX=clang++ cmake -S userspace -B build/fuzz -DEGPUCTL_FUZZ=ON -DEGPUCTL_TESTS=OFF
//   cmake --build build/fuzz --target egpuctl_policy_fuzz -j2
//   build/fuzz/egpuctl_policy_fuzz -max_total_time=60 tests/fuzz/corpus/policy
//
// Input: any bytes, as policy.toml text and as rule grammar text.  Besides
// "no crash, no sanitizer report", it checks the round trips: a policy that
// parses is written back and parsed to the same policy; its rule set text
// parses to the same rules; a rule edit of its text parses to the edited
// model.  A broken round trip aborts (a finding).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "policy.h"
#include "policy_toml.h"

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "round trip broken: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace egpuctl;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const Policy p = parse_policy(text, "fuzz.toml");
    check(parse_policy(write_policy_toml(p), "written") == p, "write_policy_toml");
    check(parse_rules_text(rules_text(p.rules)) == p.rules, "rules_text");
    (void)render_modprobe_conf(p, "fuzz.toml");
    TbRule r;
    r.uuid = "d1e2a3b4-0000-0000-0000-000000000001";
    RuleEdit e;
    e.insertAt = size % (p.rules.size() + 1);
    if (!p.rules.empty()) e.remove = {size % p.rules.size()};
    e.insert = {r};
    e.comment = "fuzz";
    bool rewritten = false;
    const std::string edited = edit_policy_text(text, "fuzz.toml", p, e, &rewritten);
    check(parse_policy(edited, "edited") == apply_rule_edit(p, e), "edit_policy_text");
  } catch (const PolicyError&) {
  } catch (const RuleSyntaxError&) {
    check(false, "a valid policy's rules do not parse as rule text");
  }
  // The same bytes as rule grammar (module parameter, netlink replies).
  try {
    for (const TbRule& r : parse_rules_text(text))
      check(parse_rule_text(rule_text(r)) == r, "rule_text");
  } catch (const RuleSyntaxError&) {
  }
  return 0;
}
