// A guard in front of toml++ for non-ASCII text.
//
// toml++ 3.3 (Debian bookworm and trixie; upstream until its PR #305)
// reaches __builtin_unreachable(), i.e. undefined behaviour, when it tests
// most non-ASCII characters for whitespace (toml++ issues #190 and #295).
// It does that for every character it reads outside strings and comments,
// and inside a multi-line basic string after a backslash.  TOML allows
// non-ASCII nowhere else than in strings and comments, and the policy schema
// needs it only in names (one-line strings) and comments, so the guard
// refuses non-ASCII anywhere else before toml++ reads the text.
//
// The guard follows TOML's lexical structure (keys, values, bare values,
// arrays, inline tables, table headers, the four string kinds, comments) so
// that it ends every string and comment exactly where toml++ does on any
// text toml++ accepts so far; past the first syntax error toml++ stops
// reading, so what the guard decides there does not matter, and it decides
// "code" (refuse) wherever a string or comment could not start in valid
// TOML.  Found wrong twice by egpuctl_policy_fuzz (tests/fuzz/corpus/policy/
// regress-*), which checks the guard against an instrumented toml++.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace egpuctl {

struct TomlGuardFinding {
  uint32_t line = 0;    // 1-based
  uint32_t column = 0;  // 1-based, in characters (as toml++ counts)
  std::string message;  // what and what to do instead
};

// The first non-ASCII character toml++ 3.3 would read outside a one-line
// string or a comment, or nothing when the text is safe to parse.
std::optional<TomlGuardFinding> find_unsafe_non_ascii(std::string_view text);

}  // namespace egpuctl
