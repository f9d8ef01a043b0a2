#include "toml_guard.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace egpuctl {
namespace {

using ::testing::HasSubstr;

// Non-ASCII where toml++ 3.3 reads it only as string or comment text.
class Safe : public ::testing::TestWithParam<const char*> {};

TEST_P(Safe, PassesTheGuard) {
  const auto f = find_unsafe_non_ascii(GetParam());
  EXPECT_FALSE(f.has_value()) << f->line << ":" << f->column << ": " << f->message;
}

INSTANTIATE_TEST_SUITE_P(
    All, Safe,
    ::testing::Values(
        "", "a = 1\n", "\xef\xbb\xbf" "a = 1\n",  // a BOM
        "name = \"Caf\xc3\xa9\"\n", "name=\"Caf\xc3\xa9\"\n", "s = 'Caf\xc3\xa9'\n",
        "# R\xc3\xa9sum\xc3\xa9\na = 1 # \xe3\x80\x81\n",
        "\"k\xc3\xa9y\" = 1\n", "a.\"\xc3\xa9\" = 1\n", "a . '\xc3\xa9' = 1\n",
        "[t]\nname = \"\xc3\xa9\" # \xc3\xa9\n", "[[tb.rule]]\nvendor_name = \"\xc3\xa9\"\n",
        "[\"\xc3\xa9\"]\n", "[ a . \"\xc3\xa9\" ]\n",
        "a = [\"\xc3\xa9\", '\xc3\xa9']\n", "a = [\n  \"\xc3\xa9\", # \xc3\xa9\n  1,\n]\n",
        "a = [[\"\xc3\xa9\"], [1, 2]]\n", "a = { b = \"\xc3\xa9\", c = [\"\xc3\xa9\"] }\n",
        "a = {b=\"\xc3\xa9\"}\n", "a = {}\nb = \"\xc3\xa9\"\n",
        "s = \"esc \\\" \xc3\xa9 \\\\\"\n",        // escaped quote and backslash
        "s = \"\"\"a\"\"\"\nb = \"\xc3\xa9\"\n",   // a multi-line string, then one line
        "s = '''a'''''\nb = '\xc3\xa9'\n",      // two quotes of content
        "d = 1979-05-27 07:32:00 # \xc3\xa9\n",  // a date with a space
        "a = 1#\xc3\xa9\n", "a = true # \xc3\xa9\n",
        "a = \"x\"\r\nb = \"\xc3\xa9\"\r\n",
        // after a syntax error toml++ stops: what follows is not read
        "= \"\xc3\xa9\"\n", "ab\"\xc3\xa9\" = 1\n"));

struct Unsafe {
  const char* text;
  uint32_t line;
  uint32_t column;
  const char* message;
};

class Refused : public ::testing::TestWithParam<Unsafe> {};

TEST_P(Refused, NamesTheCharacter) {
  const Unsafe& u = GetParam();
  const auto f = find_unsafe_non_ascii(u.text);
  ASSERT_TRUE(f.has_value()) << u.text;
  EXPECT_EQ(f->line, u.line) << u.text;
  EXPECT_EQ(f->column, u.column) << u.text;
  EXPECT_THAT(f->message, HasSubstr(u.message)) << u.text;
}

constexpr char kCode[] = "outside a string or comment (U+00E9)";
constexpr char kMulti[] = "in a multi-line string (U+00E9): use a one-line string";

INSTANTIATE_TEST_SUITE_P(
    All, Refused,
    ::testing::Values(
        // every one reached __builtin_unreachable() in toml++ 3.3 (UBSan)
        Unsafe{"\xc3\xa9 = 1\n", 1, 1, kCode}, Unsafe{"a\xc3\xa9 = 1\n", 1, 2, kCode},
        Unsafe{"a.\xc3\xa9 = 1\n", 1, 3, kCode}, Unsafe{"a = 1\xc3\xa9\n", 1, 6, kCode},
        Unsafe{"a = 1 \xc3\xa9\n", 1, 7, kCode}, Unsafe{"a = true\xc3\xa9\n", 1, 9, kCode},
        Unsafe{"a = [1,\xc3\xa9]\n", 1, 8, kCode}, Unsafe{"a = {b=1\xc3\xa9}\n", 1, 9, kCode},
        Unsafe{"[t\xc3\xa9]\n", 1, 3, kCode}, Unsafe{"[t]\xc3\xa9\n", 1, 4, kCode},
        Unsafe{"a = \"x\"\xc3\xa9\n", 1, 8, kCode}, Unsafe{"\"k\"\xc3\xa9 = 1\n", 1, 4, kCode},
        Unsafe{"x\n\n  \xcc\xaa", 3, 3, "(U+032A)"},
        // a quote inside a bare value starts no string (fuzz findings)
        Unsafe{"s = 00D0name\"\xc3\xa9\n", 1, 14, kCode},
        Unsafe{"uuid = 0\"d\xcf\x9e\"\n", 1, 11, "(U+03DE)"},
        Unsafe{"a = 1=\"\xc3\xa9\"\n", 1, 8, kCode}, Unsafe{"a = 1.\"\xc3\xa9\"\n", 1, 8, kCode},
        Unsafe{"a = [\n1=\"\xc3\xa9\"]\n", 2, 4, kCode},
        Unsafe{"a = [1\"\xc3\xa9\"]\n", 1, 8, kCode},
        // the closing run of a multi-line string (fuzz finding)
        Unsafe{"x = \"\"\"a\"\"\"\"\xc3\xa9\n", 1, 13, kCode},
        Unsafe{"x = '''a'''''\xc3\xa9\n", 1, 14, kCode},
        Unsafe{"x = \"\"\"\"\"\"\xc3\xa9\n", 1, 11, kCode},
        // multi-line strings: after a backslash toml++ tests for whitespace
        Unsafe{"s = \"\"\"\\\n\xc3\xa9\"\"\"\n", 2, 1, kMulti},
        Unsafe{"s = \"\"\"\\\xc3\xa9\"\"\"\n", 1, 9, kMulti},
        Unsafe{"s = '''\n\xc3\xa9'''\n", 2, 1, kMulti},
        // not UTF-8 where it would be code
        Unsafe{"a = \xff\n", 1, 5, "byte 0xFF (not UTF-8)"}));

}  // namespace
}  // namespace egpuctl
