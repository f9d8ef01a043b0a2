#include "suggest.h"

#include <gtest/gtest.h>

namespace egpuctl {
namespace {

TEST(EditDistance, CountsEditsAndTranspositions) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("status", "status"), 0u);
  EXPECT_EQ(edit_distance("stauts", "status"), 1u);  // adjacent transposition
  EXPECT_EQ(edit_distance("statu", "status"), 1u);
  EXPECT_EQ(edit_distance("statsu", "status"), 1u);
  EXPECT_EQ(edit_distance("xtatus", "status"), 1u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(Suggestions, ClosestWithinLimit) {
  const std::vector<std::string> cmds = {"status", "version", "help"};
  EXPECT_EQ(suggestions("stauts", cmds), std::vector<std::string>{"status"});
  EXPECT_EQ(suggestions("verison", cmds), std::vector<std::string>{"version"});
  EXPECT_EQ(suggestions("hepl", cmds), std::vector<std::string>{"help"});
  EXPECT_TRUE(suggestions("frobnicate", cmds).empty());
  EXPECT_TRUE(suggestions("", cmds).empty());
}

TEST(Suggestions, PrefixWhenNothingIsClose) {
  EXPECT_EQ(suggestions("stat", {"status", "version"}), std::vector<std::string>{"status"});
}

TEST(Suggestions, ShortInputsNeedCloseMatches) {
  // Two letters: only one edit allowed, so "ls" does not suggest "tb".
  EXPECT_TRUE(suggestions("ls", {"tb", "gpu"}).empty());
  EXPECT_EQ(suggestions("gp", {"tb", "gpu"}), std::vector<std::string>{"gpu"});
}

TEST(DidYouMean, FormatsOneOrMore) {
  EXPECT_EQ(did_you_mean("stauts", {"status", "version"}), "; did you mean 'status'?");
  EXPECT_EQ(did_you_mean("tast", {"test", "last", "zzzz"}), "; did you mean 'test' or 'last'?");
  EXPECT_EQ(did_you_mean("ab", {"ax", "bb", "cb"}), "; did you mean 'ax', 'bb' or 'cb'?");
  EXPECT_EQ(did_you_mean("zzzzzz", {"status"}), "");
}

}  // namespace
}  // namespace egpuctl
