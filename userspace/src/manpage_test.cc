// The man page (../egpuctl.8) must name every command and exit code.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "commands.h"

namespace egpuctl {
namespace {

std::string manpage() {
  std::ifstream in(EGPUCTL_MANPAGE);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ManPage, NamesEveryCommand) {
  const std::string man = manpage();
  ASSERT_FALSE(man.empty()) << "cannot read " << EGPUCTL_MANPAGE;
  for (const Command& c : root_command().subcommands)
    EXPECT_THAT(man, ::testing::HasSubstr(".BR " + c.name + " ")) << c.name;
}

TEST(ManPage, DocumentsEveryExitCode) {
  const std::string man = manpage();
  for (int code = 0; code <= 4; ++code)
    EXPECT_THAT(man, ::testing::HasSubstr(".TP\n.B " + std::to_string(code) + "\n")) << code;
}

}  // namespace
}  // namespace egpuctl
