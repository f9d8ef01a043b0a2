// The policy model: values, the rule grammar both ways, the matcher and the
// modprobe.d renderer.
#include "policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "egpu_gate.h"

namespace egpuctl {
namespace {

using ::testing::HasSubstr;

constexpr char kUuid[] = "d1e2a3b4-0000-0000-0000-000000000001";

TbRule full_rule() {
  TbRule r;
  r.uuid = kUuid;
  r.id = PciId{0x8086, 0x15d3};
  r.vendorName = "Razer";
  r.deviceName = "Core X";
  r.parent = "d1e2a3b4-0000-0000-0000-000000000002";
  r.action = TbRule::Action::kIgnore;
  r.iommuRequired = false;
  r.bind = {{0x1002, 0x687f}, {0x1002, 0xaaf8}};
  r.chain = true;
  return r;
}

TEST(RuleText, CanonicalOrderAndDefaultsLeftOut) {
  EXPECT_EQ(rule_text(full_rule()),
            "uuid=d1e2a3b4-0000-0000-0000-000000000001,id=8086:15d3,vendor_name=Razer,"
            "device_name=Core X,parent=d1e2a3b4-0000-0000-0000-000000000002,action=ignore,"
            "iommu=optional,bind=1002:687f+1002:aaf8,chain=1");
  TbRule r;
  r.uuid = kUuid;
  EXPECT_EQ(rule_text(r), std::string("uuid=") + kUuid);
}

TEST(RuleText, ParsesWhatItWrites) {
  EXPECT_EQ(parse_rule_text(rule_text(full_rule())), full_rule());
}

TEST(RuleText, ParsesTheUapiExample) {
  const TbRule r =
      parse_rule_text("uuid=d1e2a3b4-0000-0000-0000-000000000001,bind=1002:687f+1002:aaf8");
  EXPECT_EQ(r.uuid, kUuid);
  ASSERT_EQ(r.bind.size(), 2u);
  EXPECT_EQ(r.bind[1], (PciId{0x1002, 0xaaf8}));
}

TEST(RuleText, Normalizes) {
  const TbRule r =
      parse_rule_text(" uuid = D1E2A3B4-0000-0000-0000-000000000001 , id=8086:15D3 ");
  EXPECT_EQ(r.uuid, kUuid);
  EXPECT_EQ(rule_text(r), std::string("uuid=") + kUuid + ",id=8086:15d3");
  EXPECT_EQ(rule_text(parse_rule_text("id=1:2")), "id=0001:0002");
}

struct BadRule {
  const char* text;
  const char* field;
  const char* message;
};

class RuleTextErrors : public ::testing::TestWithParam<BadRule> {};

TEST_P(RuleTextErrors, NameTheField) {
  try {
    parse_rule_text(GetParam().text);
    FAIL() << "accepted: " << GetParam().text;
  } catch (const RuleSyntaxError& e) {
    EXPECT_EQ(e.field(), GetParam().field);
    EXPECT_THAT(e.what(), HasSubstr(GetParam().message));
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, RuleTextErrors,
    ::testing::Values(BadRule{"", "", "not key=value"}, BadRule{"uuid", "", "not key=value"},
                      BadRule{"uuid=x", "uuid", "not a UUID"},
                      BadRule{"parent=1-2-3", "parent", "not a UUID"},
                      BadRule{"id=8086", "id", "not an ID"},
                      BadRule{"id=12345:1", "id", "not an ID"},
                      BadRule{"id=g:1", "id", "not an ID"},
                      BadRule{"vendor_name=", "vendor_name", "empty"},
                      BadRule{"device_name=a\x01", "device_name", "control character"},
                      BadRule{"id=1:2,action=deny", "action", "not an action"},
                      BadRule{"id=1:2,iommu=maybe", "iommu", "not an iommu setting"},
                      BadRule{"id=1:2,bind=1002", "bind", "not an ID"},
                      BadRule{"id=1:2,bind=1:1+1:2+1:3+1:4+1:5+1:6+1:7+1:8+1:9", "bind",
                              "at most 8"},
                      BadRule{"id=1:2,chain=yes", "chain", "not 0 or 1"},
                      BadRule{"id=1:2,colour=red", "colour", "unknown key"},
                      BadRule{"id=1:2,id=1:3", "id", "given twice"},
                      BadRule{"action=ignore", "", "no match key"}));

TEST(RulesText, JoinsAndSplits) {
  TbRule a, b;
  a.uuid = kUuid;
  b.id = PciId{1, 2};
  EXPECT_EQ(rules_text({}), "");
  EXPECT_EQ(rules_text({a, b}), std::string("uuid=") + kUuid + ";id=0001:0002");
  EXPECT_EQ(parse_rules_text(";" + rules_text({a, b}) + ";;"), (std::vector<TbRule>{a, b}));
  EXPECT_TRUE(parse_rules_text("").empty());
}

TEST(RulesText, ErrorNamesTheRule) {
  try {
    parse_rules_text("id=1:2;id=zz");
    FAIL();
  } catch (const RuleSyntaxError& e) {
    EXPECT_THAT(e.what(), HasSubstr("rule 2: id:"));
  }
}

TEST(Values, TbNames) {
  std::string problem;
  EXPECT_TRUE(valid_tb_name("Core X", problem));
  EXPECT_TRUE(valid_tb_name(std::string(EGPU_TB_NAME_MAX, 'a'), problem));
  EXPECT_FALSE(valid_tb_name(std::string(EGPU_TB_NAME_MAX + 1, 'a'), problem));
  EXPECT_THAT(problem, HasSubstr("at most 63"));
  for (const char* bad : {"a,b", "a;b", "a=b", "a\"b", " a", "a "})
    EXPECT_FALSE(valid_tb_name(bad, problem)) << bad;
}

TEST(Values, Families) {
  std::string problem;
  EXPECT_TRUE(valid_family("vega10", problem));
  EXPECT_FALSE(valid_family("", problem));
  EXPECT_FALSE(valid_family("vega 10", problem));
  EXPECT_FALSE(valid_family(std::string(EGPU_FAMILY_NAME_MAX + 1, 'a'), problem));
}

TEST(Limits, RuleTextLength) {
  TbRule r;
  r.vendorName = std::string(63, 'v');
  r.deviceName = std::string(63, 'd');
  EXPECT_EQ(rule_limits_problem(r), "");
  EXPECT_THAT(rule_limits_problem(TbRule{}), HasSubstr("no match key"));
}

TbDeviceInfo device() {
  TbDeviceInfo d;
  d.name = "0-1";
  d.parent = "0-0";
  d.uniqueId = "D1E2A3B4-0000-0000-0000-000000000001";
  d.vendor = 0x8086;
  d.device = 0x15d3;
  d.vendorName = "Razer";
  d.deviceName = "Core X";
  return d;
}

TEST(Matcher, EveryKeyMustMatch) {
  const std::optional<std::string> parent = "d1e2a3b4-0000-0000-0000-000000000002";
  TbRule r = full_rule();
  EXPECT_TRUE(rule_matches(r, device(), parent));
  EXPECT_FALSE(rule_matches(r, device(), std::nullopt));
  TbDeviceInfo d = device();
  d.deviceName = "Core Y";
  EXPECT_FALSE(rule_matches(r, d, parent));
  d = device();
  d.uniqueId.reset();
  EXPECT_FALSE(rule_matches(r, d, parent));
  TbRule by_id;
  by_id.id = PciId{0x8086, 0x15d3};
  EXPECT_TRUE(rule_matches(by_id, device(), std::nullopt));
  by_id.id->device = 0x15d2;
  EXPECT_FALSE(rule_matches(by_id, device(), std::nullopt));
  EXPECT_FALSE(rule_matches(TbRule{}, device(), std::nullopt));
}

TEST(Modprobe, QuotesTheRulesAndSetsOnlyWhatThePolicySets) {
  Policy p;
  p.rules = {full_rule()};
  TbRule second;
  second.id = PciId{1, 2};
  p.rules.push_back(second);
  EXPECT_EQ(render_modprobe_conf(p, "/etc/egpu-gate/policy.toml"),
            "# Generated by `egpuctl policy apply` from /etc/egpu-gate/policy.toml: do not "
            "edit, edit that\n"
            "# file and run `egpuctl policy apply` again.  See egpu-gate(7).\n"
            "options egpu_gate tb_rules=\"" +
                rules_text(p.rules) + "\"\n");
  p.teardownBudgetMs = 2500;
  p.autoResetMethod = false;
  p.resetLeaveD0 = true;
  p.gpuIds = {{{0x1002, 0x687f}, "vega10"}};
  const std::string conf = render_modprobe_conf(p, "x");
  p.gpuIds.push_back({{0x1002, 0x67df}, "polaris10"});
  EXPECT_THAT(conf, HasSubstr("\" teardown_budget_ms=2500 auto_reset_method=0 "
                              "reset_leave_d0=1 gpu_ids=1002:687f:vega10\n"));
  EXPECT_THAT(render_modprobe_conf(p, "x"),
              HasSubstr("\" teardown_budget_ms=2500 auto_reset_method=0 reset_leave_d0=1 "
                        "gpu_ids=1002:687f:vega10,1002:67df:polaris10\n"));
}

TEST(Modprobe, EmptyPolicyClearsTheRules) {
  EXPECT_THAT(render_modprobe_conf(Policy{}, "x"), HasSubstr("options egpu_gate tb_rules=\"\"\n"));
}

}  // namespace
}  // namespace egpuctl
