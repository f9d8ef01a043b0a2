#include "command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "commands.h"
#include "error.h"

namespace egpuctl {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace po = boost::program_options;

// A tree of its own, to test the machinery apart from egpuctl's commands.
class CommandTreeTest : public ::testing::Test {
 protected:
  CommandTreeTest() {
    auto alpha = [this](Invocation& inv) {
      ArgParser p(inv);
      p.add_json();
      p.options().add_options()("color", po::bool_switch(&color), "use colors")(
          "budget", po::value<int>(&budget)->value_name("MS"), "a budget in milliseconds");
      p.add_positional("NAME", 1);
      if (!p.parse()) return 0;
      json = p.json();
      positional = p.positional();
      ran = inv.path;
      return 0;
    };
    auto leaf = [this](Invocation& inv) {
      ArgParser p(inv);
      if (!p.parse()) return 0;
      ran = inv.path;
      return 7;
    };
    auto fail = [](Invocation&) -> int { throw Error(ExitCode::kPermission, "no way"); };
    auto crash = [](Invocation&) -> int { throw std::logic_error("boom"); };
    root = Command{
        .name = "tool",
        .summary = "test tool",
        .subcommands =
            {
                {.name = "alpha", .summary = "first command", .run = alpha},
                {.name = "beta",
                 .summary = "a group",
                 .subcommands = {{.name = "one", .summary = "first of beta", .run = leaf},
                                 {.name = "two", .summary = "second of beta", .run = leaf}}},
                {.name = "fail", .summary = "throws an Error", .run = fail},
                {.name = "crash", .summary = "throws something else", .run = crash},
                {.name = "plain", .summary = "no options", .run = leaf},
                {.name = "help", .summary = "egpuctl's help command", .run = cmd_help},
            },
    };
  }

  int run(std::vector<std::string> args) {
    std::ostringstream o, e;
    Context ctx(o, e, []() -> std::unique_ptr<Control> { throw module_not_loaded(); });
    const int rc = run_cli(ctx, root, args);
    out = o.str();
    err = e.str();
    return rc;
  }

  Command root;
  std::string out, err, ran;
  bool color = false, json = false;
  int budget = 0;
  std::vector<std::string> positional;
};

TEST_F(CommandTreeTest, UsageIsGeneratedFromTheTable) {
  const std::string u = group_usage(root, "tool", true);
  EXPECT_THAT(u, StartsWith("Usage: tool [OPTIONS] COMMAND [ARGS...]\n\nTest tool.\n"));
  EXPECT_THAT(u, HasSubstr("Commands:\n"
                           "  alpha  first command\n"
                           "  beta   a group\n"
                           "  fail   throws an Error\n"
                           "  crash  throws something else\n"
                           "  plain  no options\n"
                           "  help   egpuctl's help command\n"));
  EXPECT_THAT(u, HasSubstr("Options (before COMMAND):\n"));
  EXPECT_THAT(u, HasSubstr("  --json  "));
  EXPECT_THAT(u, HasSubstr("  -V, --version  "));
  EXPECT_THAT(u, HasSubstr(kExitCodesHelp));
  EXPECT_THAT(u, HasSubstr("Run 'tool help COMMAND' or 'tool COMMAND --help' for details.\n"));
}

TEST_F(CommandTreeTest, HelpPrintsUsageOnStdout) {
  EXPECT_EQ(run({"--help"}), 0);
  EXPECT_EQ(out, group_usage(root, "tool", true));
  EXPECT_EQ(err, "");
  EXPECT_EQ(run({"-h"}), 0);
}

TEST_F(CommandTreeTest, NoCommandPrintsUsageOnStderr) {
  EXPECT_EQ(run({}), 2);
  EXPECT_EQ(out, "");
  EXPECT_EQ(err, group_usage(root, "tool", true));
}

TEST_F(CommandTreeTest, UnknownCommandSuggests) {
  EXPECT_EQ(run({"alpah"}), 2);
  EXPECT_EQ(err, "tool: unknown command 'alpah'; did you mean 'alpha'?\n");
  EXPECT_EQ(out, "");
}

TEST_F(CommandTreeTest, UnknownCommandWithoutSuggestionPointsToHelp) {
  EXPECT_EQ(run({"frobnicate"}), 2);
  EXPECT_EQ(err,
            "tool: unknown command 'frobnicate'\n"
            "Run 'tool --help' for a list of commands.\n");
}

TEST_F(CommandTreeTest, RunsCommandWithItsOptions) {
  EXPECT_EQ(run({"alpha", "--color", "--budget", "250", "x"}), 0);
  EXPECT_EQ(ran, "tool alpha");
  EXPECT_TRUE(color);
  EXPECT_EQ(budget, 250);
  EXPECT_EQ(positional, std::vector<std::string>{"x"});
  EXPECT_FALSE(json);
}

TEST_F(CommandTreeTest, ReturnsTheCommandsExitCode) {
  EXPECT_EQ(run({"plain"}), 7);
  EXPECT_EQ(ran, "tool plain");
}

TEST_F(CommandTreeTest, JsonBeforeOrAfterTheCommand) {
  EXPECT_EQ(run({"alpha", "--json"}), 0);
  EXPECT_TRUE(json);
  json = false;
  EXPECT_EQ(run({"--json", "alpha"}), 0);
  EXPECT_TRUE(json);
}

TEST_F(CommandTreeTest, JsonRejectedByCommandsWithoutIt) {
  EXPECT_EQ(run({"--json", "plain"}), 2);
  EXPECT_EQ(err, "tool: plain: --json is not supported by this command\n");
  EXPECT_EQ(ran, "");
}

TEST_F(CommandTreeTest, UnknownOptionSuggests) {
  EXPECT_EQ(run({"alpha", "--colour"}), 2);
  EXPECT_EQ(err, "tool: alpha: unknown option '--colour'; did you mean '--color'?\n");
  EXPECT_EQ(ran, "");
}

TEST_F(CommandTreeTest, UnknownOptionWithoutSuggestionPointsToHelp) {
  EXPECT_EQ(run({"alpha", "--frobnicate"}), 2);
  EXPECT_EQ(err,
            "tool: alpha: unknown option '--frobnicate'\n"
            "Run 'tool alpha --help' for usage.\n");
}

TEST_F(CommandTreeTest, AbbreviatedOptionsAreNotGuessed) {
  EXPECT_EQ(run({"alpha", "--col"}), 2);
  EXPECT_THAT(err, StartsWith("tool: alpha: unknown option '--col'"));
}

TEST_F(CommandTreeTest, BadOptionValueIsUsageError) {
  EXPECT_EQ(run({"alpha", "--budget", "lots"}), 2);
  EXPECT_THAT(err, StartsWith("tool: alpha: "));
  EXPECT_THAT(err, HasSubstr("Run 'tool alpha --help' for usage.\n"));
  EXPECT_EQ(run({"alpha", "--budget"}), 2);
}

TEST_F(CommandTreeTest, TooManyArguments) {
  EXPECT_EQ(run({"alpha", "x", "y"}), 2);
  EXPECT_THAT(err, StartsWith("tool: alpha: unexpected argument 'y'\n"));
  EXPECT_EQ(run({"plain", "x"}), 2);
  EXPECT_THAT(err, StartsWith("tool: plain: unexpected argument 'x'\n"));
}

TEST_F(CommandTreeTest, UnknownGlobalOptionSuggests) {
  EXPECT_EQ(run({"--jsno", "alpha"}), 2);
  EXPECT_EQ(err, "tool: unknown option '--jsno'; did you mean '--json'?\n");
  EXPECT_EQ(run({"--xyzzy"}), 2);
  EXPECT_EQ(err, "tool: unknown option '--xyzzy'\nRun 'tool --help' for usage.\n");
}

TEST_F(CommandTreeTest, DoubleDashEndsGlobalOptions) {
  EXPECT_EQ(run({"--", "plain"}), 7);
}

TEST_F(CommandTreeTest, CommandHelpIsGenerated) {
  EXPECT_EQ(run({"alpha", "--help"}), 0);
  EXPECT_EQ(ran, "");
  EXPECT_EQ(out,
            "Usage: tool alpha [OPTIONS] [NAME]\n"
            "\n"
            "First command.\n"
            "\n"
            "Options:\n"
            "  --json       print JSON (same as 'egpuctl --json ...')\n"
            "  --color      use colors\n"
            "  --budget MS  a budget in milliseconds\n"
            "  -h, --help   show this help\n");
}

TEST_F(CommandTreeTest, NestedGroupsDispatch) {
  EXPECT_EQ(run({"beta", "two"}), 7);
  EXPECT_EQ(ran, "tool beta two");
}

TEST_F(CommandTreeTest, NestedGroupWithoutCommandPrintsItsUsage) {
  EXPECT_EQ(run({"beta"}), 2);
  EXPECT_EQ(err,
            "Usage: tool beta COMMAND [ARGS...]\n"
            "\n"
            "A group.\n"
            "\n"
            "Commands:\n"
            "  one  first of beta\n"
            "  two  second of beta\n"
            "\n"
            "Run 'tool help beta COMMAND' or 'tool beta COMMAND --help' for details.\n");
  EXPECT_EQ(run({"beta", "--help"}), 0);
  EXPECT_THAT(out, StartsWith("Usage: tool beta COMMAND [ARGS...]\n"));
}

TEST_F(CommandTreeTest, NestedUnknownCommandSuggests) {
  EXPECT_EQ(run({"beta", "oen"}), 2);
  EXPECT_EQ(err, "tool: beta: unknown command 'oen'; did you mean 'one'?\n");
  EXPECT_EQ(run({"beta", "--bogus"}), 2);
  EXPECT_THAT(err, StartsWith("tool: beta: expected a command, not option '--bogus'\n"));
}

TEST_F(CommandTreeTest, HelpWalksNestedGroups) {
  EXPECT_EQ(run({"help", "beta"}), 0);
  EXPECT_THAT(out, StartsWith("Usage: tool beta COMMAND [ARGS...]\n"));
  EXPECT_EQ(run({"help", "beta", "one"}), 0);
  EXPECT_EQ(out, "Usage: tool beta one [OPTIONS]\n\nFirst of beta.\n\nOptions:\n"
                 "  -h, --help  show this help\n");
  EXPECT_EQ(ran, "");
  EXPECT_EQ(run({"help", "beta", "oen"}), 2);
  EXPECT_EQ(err, "tool: beta: unknown command 'oen'; did you mean 'one'?\n");
  EXPECT_EQ(run({"help", "beta", "one", "x"}), 2);
  EXPECT_EQ(err, "tool: help: 'tool beta one' has no subcommand 'x'\n");
  EXPECT_EQ(run({"help"}), 0);
  EXPECT_EQ(out, group_usage(root, "tool", true));
}

TEST_F(CommandTreeTest, ErrorsBecomeMessagesAndExitCodes) {
  EXPECT_EQ(run({"fail"}), 4);
  EXPECT_EQ(err, "tool: no way\n");
  EXPECT_EQ(run({"crash"}), 1);
  EXPECT_EQ(err, "tool: internal error: boom\n");
}

TEST_F(CommandTreeTest, WriteErrorIsAFailure) {
  std::ostream broken(nullptr);  // every write fails
  std::ostringstream e;
  Context ctx(broken, e, []() -> std::unique_ptr<Control> { throw module_not_loaded(); });
  EXPECT_EQ(run_cli(ctx, root, {"--help"}), 1);
  EXPECT_EQ(e.str(), "tool: cannot write the output\n");
}

TEST(Context, ConnectsOnceAndOnlyWhenAsked) {
  int connects = 0;
  struct Null : Control {
    Status status() override { return {}; }
    void setConfig(const ConfigChange&) override {}
    std::vector<Gpu> gpus() override { return {}; }
    void resetGpu(const std::string&, bool) override {}
    void addGpuId(const GpuId&) override {}
    void removeGpuId(const GpuId&) override {}
  };
  std::ostringstream o, e;
  Context ctx(o, e, [&]() -> std::unique_ptr<Control> {
    ++connects;
    return std::make_unique<Null>();
  });
  EXPECT_EQ(connects, 0);
  Control& a = ctx.control();
  Control& b = ctx.control();
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(connects, 1);
}

}  // namespace
}  // namespace egpuctl
