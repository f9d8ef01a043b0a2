// policy.toml: parser (every problem path, with positions), writer, round
// trip and the text-preserving rule edits.
#include "policy_toml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "egpu_gate.h"

namespace egpuctl {
namespace {

using ::testing::HasSubstr;

constexpr char kUuid[] = "d1e2a3b4-0000-0000-0000-000000000001";

std::string example() {
  std::ifstream in(EGPUCTL_POLICY_EXAMPLE);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(PolicyExample, ParsesToTheDocumentedPolicy) {
  const std::string text = example();
  ASSERT_FALSE(text.empty()) << "cannot read " << EGPUCTL_POLICY_EXAMPLE;
  const Policy p = parse_policy(text, "policy.example.toml");
  ASSERT_EQ(p.rules.size(), 4u);
  EXPECT_EQ(rules_text(p.rules),
            "uuid=d1e2a3b4-0000-0000-0000-000000000001,bind=1002:687f+1002:aaf8;"
            "vendor_name=Razer,device_name=Core X,iommu=optional,chain=1;"
            "uuid=d1e2a3b4-0000-0000-0000-00000000beef,action=ignore;"
            "id=8086:15d3,parent=d1e2a3b4-0000-0000-0000-000000000001");
  ASSERT_EQ(p.gpuIds.size(), 1u);
  EXPECT_EQ(p.gpuIds[0], (PolicyGpuId{{0x1002, 0x6863}, "vega10"}));
  EXPECT_EQ(p.teardownBudgetMs, 5000u);
  EXPECT_EQ(p.autoResetMethod, true);
  EXPECT_EQ(p.resetLeaveD0, true);
}

TEST(PolicyExample, RoundTrip) {
  const Policy p = parse_policy(example(), "x");
  EXPECT_EQ(parse_policy(write_policy_toml(p), "y"), p);
}

TEST(PolicyParser, NonAsciiInNamesAndComments) {
  const Policy p = parse_policy(
      "# caf\xc3\xa9\n[[tb.rule]] # \xc3\xa9\nvendor_name = \"Caf\xc3\xa9 \\\\x\"\n"
      "device_name = 'D\xc3\xa9v'\n",
      "x");
  ASSERT_EQ(p.rules.size(), 1u);
  EXPECT_EQ(p.rules[0].vendorName, "Caf\xc3\xa9 \\x");
  EXPECT_EQ(p.rules[0].deviceName, "D\xc3\xa9v");
}

TEST(PolicyParser, EmptyFileIsTheEmptyPolicy) {
  EXPECT_EQ(parse_policy("", "x"), Policy{});
  EXPECT_EQ(parse_policy("# nothing\n\n", "x"), Policy{});
}

TEST(PolicyWriter, RoundTripOfEveryField) {
  Policy p;
  TbRule r;
  r.uuid = kUuid;
  r.id = PciId{0x8086, 0x15d3};
  r.vendorName = "Vendor \\ with backslash";
  r.deviceName = "Dev\xc3\xa9";
  r.parent = "d1e2a3b4-0000-0000-0000-000000000002";
  r.action = TbRule::Action::kIgnore;
  r.iommuRequired = false;
  r.bind = {{0x1002, 0x687f}};
  r.chain = true;
  p.rules = {r, TbRule{.id = PciId{1, 2}}};
  p.gpuIds = {{{0x1002, 0x687f}, "vega10"}, {{0x1002, 0x67df}, "polaris10"}};
  p.teardownBudgetMs = 100;
  p.autoResetMethod = false;
  p.resetLeaveD0 = false;
  const std::string text = write_policy_toml(p);
  EXPECT_EQ(parse_policy(text, "x"), p);
  EXPECT_THAT(text, HasSubstr("[[tb.rule]]\nuuid = \"d1e2a3b4-0000-0000-0000-000000000001\"\n"));
  EXPECT_THAT(text, HasSubstr("[gpu.ids]\n\"1002:687f\" = \"vega10\"\n"));
  EXPECT_THAT(text, HasSubstr("[teardown]\nbudget_ms = 100\n"));
  EXPECT_THAT(text, HasSubstr("egpu-gate(7)"));
  EXPECT_EQ(parse_policy(write_policy_toml(Policy{}), "x"), Policy{});
}

TEST(PolicyParser, InlineFormsAreTheSame) {
  const Policy a = parse_policy(
      "tb.rule = [{ uuid = \"D1E2A3B4-0000-0000-0000-000000000001\" }]\n"
      "gpu = { ids = { \"1002:687F\" = \"vega10\" } }\n",
      "x");
  ASSERT_EQ(a.rules.size(), 1u);
  EXPECT_EQ(a.rules[0].uuid, kUuid);
  EXPECT_EQ(a.gpuIds[0].id, (PciId{0x1002, 0x687f}));
}

struct Bad {
  std::string text;
  uint32_t line, column;
  const char* field;
  const char* message;
};

void PrintTo(const Bad& b, std::ostream* os) { *os << b.text; }

class PolicyProblems : public ::testing::TestWithParam<Bad> {};

TEST_P(PolicyProblems, PointAtTheLineAndField) {
  const Bad& b = GetParam();
  try {
    parse_policy(b.text, "p.toml");
    FAIL() << "accepted";
  } catch (const PolicyError& e) {
    ASSERT_GE(e.problems().size(), 1u);
    const PolicyProblem& pr = e.problems().front();
    EXPECT_EQ(pr.source, "p.toml");
    EXPECT_EQ(pr.line, b.line) << e.what();
    EXPECT_EQ(pr.column, b.column) << e.what();
    EXPECT_EQ(pr.field, b.field) << e.what();
    EXPECT_THAT(pr.message, HasSubstr(b.message));
    EXPECT_EQ(e.exit_code(), 1);
    EXPECT_THAT(std::string(e.what()),
                HasSubstr(fmt::format("p.toml:{}:{}: ", b.line, b.column)));
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, PolicyProblems,
    ::testing::Values(
        // TOML syntax
        Bad{"[[tb.rule]\n", 1, 11, "", "TOML syntax"},
        Bad{"a = \n", 1, 5, "", "TOML syntax"},
        Bad{"x = \"\xff\"\n", 1, 5, "", "TOML syntax"},
        Bad{"[reset]\nleave_d0 = true\nleave_d0 = false\n", 3, 12, "", "TOML syntax"},
        // non-ASCII outside one-line strings and comments (toml++ 3.3 UB)
        Bad{"tb\xd2\x94ule = 1\n", 1, 3, "", "non-ASCII character outside a string"},
        Bad{"# \xc3\xa9\nx = \"\xc3\xa9\"\n\xc3\xa9", 3, 1, "", "outside a string"},
        Bad{"x = \"\"\"\n\xc3\xa9\"\"\"\n", 2, 1, "", "in a multi-line string"},
        // one or two quotes of content before the closing delimiter: the
        // string ends after the whole run (fuzz finding, toml++ 3.3 UB)
        Bad{"x = \"\"\"a\"\"\"\"\xc3\xa9\n", 1, 13, "", "outside a string"},
        Bad{"x = '''a'''''\xc3\xa9\n", 1, 14, "", "outside a string"},
        Bad{"x = \"\"\"\"\"\"\xc3\xa9\n", 1, 11, "", "outside a string"},
        Bad{"x = \"\"\"\"\"a\"\"\"\xc3\xa9\n", 1, 14, "", "outside a string"},
        // top level and tables
        Bad{"\n\nrules = 1\n", 3, 1, "rules", "unknown key"},
        Bad{"tb = 1\n", 1, 6, "tb", "is an integer, give a table"},
        Bad{"[tb]\nrulez = []\n", 2, 1, "tb.rulez", "did you mean 'rule'"},
        Bad{"[tb]\nrule = 3\n", 2, 8, "tb.rule", "give [[tb.rule]] tables"},
        Bad{"[tb]\nrule = [3]\n", 2, 9, "tb.rule #1", "give a table"},
        // rules
        Bad{"[[tb.rule]]\naction = \"ignore\"\n", 1, 1, "tb.rule #1", "no match key"},
        Bad{"[[tb.rule]]\nid = \"1:2\"\n[[tb.rule]]\nuuid = \"nope\"\n", 4, 8,
            "tb.rule #2: uuid", "not a UUID"},
        Bad{"[[tb.rule]]\nuuid = 5\n", 2, 8, "tb.rule #1: uuid", "is an integer, give a string"},
        Bad{"[[tb.rule]]\nparent = \"x\"\n", 2, 10, "tb.rule #1: parent", "not a UUID"},
        Bad{"[[tb.rule]]\nid = \"8086\"\n", 2, 6, "tb.rule #1: id", "not an ID"},
        Bad{"[[tb.rule]]\nvendor_name = \"a,b\"\n", 2, 15, "tb.rule #1: vendor_name",
            "contains ','"},
        Bad{"[[tb.rule]]\ndevice_name = \"\"\n", 2, 15, "tb.rule #1: device_name", "empty"},
        Bad{"[[tb.rule]]\nid = \"1:2\"\naction = \"deny\"\n", 3, 10, "tb.rule #1: action",
            "not an action"},
        Bad{"[[tb.rule]]\nid = \"1:2\"\niommu = \"no\"\n", 3, 9, "tb.rule #1: iommu",
            "not an iommu setting"},
        Bad{"[[tb.rule]]\nid = \"1:2\"\nbind = \"1002:687f\"\n", 3, 8, "tb.rule #1: bind",
            "is a string, give an array"},
        Bad{"[[tb.rule]]\nid = \"1:2\"\nbind = [\"1002:687f\", \"zz\"]\n", 3, 22,
            "tb.rule #1: bind[2]", "not an ID"},
        Bad{"[[tb.rule]]\nid = \"1:2\"\nbind = [1]\n", 3, 9, "tb.rule #1: bind[1]",
            "is an integer"},
        Bad{"[[tb.rule]]\nid = \"1:2\"\nbind = [\"1:1\",\"1:1\",\"1:1\",\"1:1\",\"1:1\",\"1:1\","
            "\"1:1\",\"1:1\",\"1:1\"]\n",
            3, 8, "tb.rule #1: bind", "at most 8"},
        Bad{"[[tb.rule]]\nid = \"1:2\"\nchain = 1\n", 3, 9, "tb.rule #1: chain",
            "give true or false"},
        Bad{"[[tb.rule]]\nid = \"1:2\"\ncolour = \"red\"\n", 3, 1, "tb.rule #1: colour",
            "unknown key"},
        // gpu
        Bad{"gpu = []\n", 1, 7, "gpu", "give a table"},
        Bad{"[gpu]\nid = 1\n", 2, 1, "gpu.id", "did you mean 'ids'"},
        Bad{"[gpu]\nids = 1\n", 2, 7, "gpu.ids", "is an integer"},
        Bad{"[gpu.ids]\n\"1002\" = \"vega10\"\n", 2, 1, "gpu.ids.\"1002\"", "not an ID"},
        Bad{"[gpu.ids]\n\"1002:687f\" = 10\n", 2, 15, "gpu.ids.\"1002:687f\"", "is an integer"},
        Bad{"[gpu.ids]\n\"1002:687f\" = \"vega 10\"\n", 2, 15, "gpu.ids.\"1002:687f\"",
            "not a family name"},
        Bad{"[gpu.ids]\n\"1002:687f\" = \"vega10\"\n\"1002:687F\" = \"vega10\"\n", 3, 1,
            "gpu.ids.\"1002:687F\"", "given twice"},
        // teardown
        Bad{"teardown = 5\n", 1, 12, "teardown", "give a table"},
        Bad{"[teardown]\nbudget = 5000\n", 2, 1, "teardown.budget", "did you mean 'budget_ms'"},
        Bad{"[teardown]\nbudget_ms = \"5s\"\n", 2, 13, "teardown.budget_ms", "is a string"},
        Bad{"[teardown]\nbudget_ms = 99\n", 2, 13, "teardown.budget_ms", "100 to 60000"},
        Bad{"[teardown]\nbudget_ms = 60001\n", 2, 13, "teardown.budget_ms", "out of range"},
        // reset
        Bad{"reset = true\n", 1, 9, "reset", "give a table"},
        Bad{"[reset]\nleave_d3 = true\n", 2, 1, "reset.leave_d3", "did you mean 'leave_d0'"},
        Bad{"[reset]\nauto_reset_method = \"yes\"\n", 2, 21, "reset.auto_reset_method",
            "give true or false"},
        Bad{"[reset]\nleave_d0 = 1\n", 2, 12, "reset.leave_d0", "give true or false"}));

TEST(PolicyParser, ReportsEveryProblemInLineOrder) {
  try {
    parse_policy("[reset]\nleave_d0 = 1\n[[tb.rule]]\nuuid = \"x\"\n[teardown]\nbudget_ms = 1\n",
                 "p");
    FAIL();
  } catch (const PolicyError& e) {
    ASSERT_EQ(e.problems().size(), 3u);
    EXPECT_EQ(e.problems()[0].line, 2u);
    EXPECT_EQ(e.problems()[1].line, 4u);
    EXPECT_EQ(e.problems()[2].line, 6u);
    EXPECT_EQ(std::string(e.what()),
              e.problems()[0].str() + "\n" + e.problems()[1].str() + "\n" + e.problems()[2].str());
  }
}

TEST(PolicyParser, TooManyRules) {
  std::string text;
  for (int i = 0; i <= EGPU_TB_RULES_MAX; ++i) text += "[[tb.rule]]\nid = \"1:2\"\n";
  try {
    parse_policy(text, "p");
    FAIL();
  } catch (const PolicyError& e) {
    EXPECT_THAT(e.what(), HasSubstr("at most 16384"));
  }
}

// --- edits ----------------------------------------------------------------

const char kCommented[] =
    "# my policy\n"
    "\n"
    "# the eGPU\n"
    "[[tb.rule]]\n"
    "uuid = \"d1e2a3b4-0000-0000-0000-000000000001\"  # Core X\n"
    "bind = [\n"
    "  \"1002:687f\",  # GPU\n"
    "  \"1002:aaf8\",  # audio\n"
    "]\n"
    "\n"
    "# a dock\n"
    "[[tb.rule]]\n"
    "id = \"8086:15d3\"\n"
    "\n"
    "# settings\n"
    "[teardown]\n"
    "budget_ms = 3000 # ms\n";

TbRule uuid_rule(const char* uuid) {
  TbRule r;
  r.uuid = uuid;
  return r;
}

TEST(PolicyEdit, AppendKeepsCommentsAndGoesAfterTheLastRule) {
  const Policy p = parse_policy(kCommented, "p");
  RuleEdit e{.remove = {}, .insertAt = 2, .insert = {uuid_rule(kUuid)}, .comment = "0-3: added"};
  bool rewritten = true;
  const std::string out = edit_policy_text(kCommented, "p", p, e, &rewritten);
  EXPECT_FALSE(rewritten);
  EXPECT_EQ(out,
            "# my policy\n"
            "\n"
            "# the eGPU\n"
            "[[tb.rule]]\n"
            "uuid = \"d1e2a3b4-0000-0000-0000-000000000001\"  # Core X\n"
            "bind = [\n"
            "  \"1002:687f\",  # GPU\n"
            "  \"1002:aaf8\",  # audio\n"
            "]\n"
            "\n"
            "# a dock\n"
            "[[tb.rule]]\n"
            "id = \"8086:15d3\"\n"
            "\n"
            "[[tb.rule]]\n"
            "# 0-3: added\n"
            "uuid = \"d1e2a3b4-0000-0000-0000-000000000001\"\n"
            "\n"
            "# settings\n"
            "[teardown]\n"
            "budget_ms = 3000 # ms\n");
  EXPECT_EQ(parse_policy(out, "p"), apply_rule_edit(p, e));
}

TEST(PolicyEdit, RemoveTakesTheRulesCommentsAlong) {
  const Policy p = parse_policy(kCommented, "p");
  RuleEdit e{.remove = {0}, .insertAt = 0, .insert = {}, .comment = ""};
  bool rewritten = true;
  const std::string out = edit_policy_text(kCommented, "p", p, e, &rewritten);
  EXPECT_FALSE(rewritten);
  EXPECT_EQ(out,
            "# my policy\n"
            "\n"
            "# a dock\n"
            "[[tb.rule]]\n"
            "id = \"8086:15d3\"\n"
            "\n"
            "# settings\n"
            "[teardown]\n"
            "budget_ms = 3000 # ms\n");
}

TEST(PolicyEdit, InsertBeforeARuleAndRemoveAnother) {
  const Policy p = parse_policy(kCommented, "p");
  TbRule ignore = uuid_rule("d1e2a3b4-0000-0000-0000-000000000009");
  ignore.action = TbRule::Action::kIgnore;
  RuleEdit e{.remove = {0}, .insertAt = 1, .insert = {ignore}, .comment = "denied"};
  bool rewritten = true;
  const std::string out = edit_policy_text(kCommented, "p", p, e, &rewritten);
  EXPECT_FALSE(rewritten);
  EXPECT_EQ(out,
            "# my policy\n"
            "\n"
            "[[tb.rule]]\n"
            "# denied\n"
            "uuid = \"d1e2a3b4-0000-0000-0000-000000000009\"\n"
            "action = \"ignore\"\n"
            "\n"
            "# a dock\n"
            "[[tb.rule]]\n"
            "id = \"8086:15d3\"\n"
            "\n"
            "# settings\n"
            "[teardown]\n"
            "budget_ms = 3000 # ms\n");
}

TEST(PolicyEdit, FirstRuleOfAFileWithout) {
  const char text[] = "[teardown]\nbudget_ms = 3000\n";
  const Policy p = parse_policy(text, "p");
  RuleEdit e{.remove = {}, .insertAt = 0, .insert = {uuid_rule(kUuid)}, .comment = ""};
  bool rewritten = true;
  const std::string out = edit_policy_text(text, "p", p, e, &rewritten);
  EXPECT_FALSE(rewritten);
  EXPECT_EQ(out, std::string(text) + "\n[[tb.rule]]\nuuid = \"" + kUuid + "\"\n");
}

TEST(PolicyEdit, EditOfTheExampleKeepsEverythingElse) {
  const std::string text = example();
  const Policy p = parse_policy(text, "p");
  for (size_t i = 0; i < p.rules.size(); ++i) {
    RuleEdit e{.remove = {i}, .insertAt = i, .insert = {uuid_rule(kUuid)}, .comment = "x"};
    bool rewritten = true;
    const std::string out = edit_policy_text(text, "p", p, e, &rewritten);
    EXPECT_FALSE(rewritten) << i;
    EXPECT_EQ(parse_policy(out, "p"), apply_rule_edit(p, e)) << i;
    EXPECT_THAT(out, HasSubstr("# Reset behaviour.\n[reset]\n")) << i;
  }
}

TEST(PolicyEdit, InlineRulesAreRewritten) {
  const char text[] = "# gone\ntb.rule = [{ id = \"1:2\" }]\n";
  const Policy p = parse_policy(text, "p");
  RuleEdit e{.remove = {}, .insertAt = 1, .insert = {uuid_rule(kUuid)}, .comment = ""};
  bool rewritten = false;
  const std::string out = edit_policy_text(text, "p", p, e, &rewritten);
  EXPECT_TRUE(rewritten);
  EXPECT_EQ(parse_policy(out, "p"), apply_rule_edit(p, e));
  EXPECT_EQ(out, write_policy_toml(apply_rule_edit(p, e)));
}

TEST(PolicyEdit, ModelEdit) {
  Policy p;
  p.rules = {uuid_rule("a"), uuid_rule("b"), uuid_rule("c")};
  RuleEdit e{.remove = {1}, .insertAt = 1, .insert = {uuid_rule("x")}, .comment = ""};
  EXPECT_EQ(apply_rule_edit(p, e).rules,
            (std::vector<TbRule>{uuid_rule("a"), uuid_rule("x"), uuid_rule("c")}));
  e.insertAt = 3;
  EXPECT_EQ(apply_rule_edit(p, e).rules,
            (std::vector<TbRule>{uuid_rule("a"), uuid_rule("c"), uuid_rule("x")}));
}

}  // namespace
}  // namespace egpuctl
