#include "toml_guard.h"

#include <fmt/format.h>

#include <vector>

namespace egpuctl {

namespace {

// Where the scanner is outside strings and comments (TOML 1.0 grammar):
//   kKey   a key may come: line start, after '{' or ',' in an inline table,
//          in a table header; a quote starts a quoted key
//   kValue a value may come: after '=', after '[' or ',' in an array; a
//          quote starts a string
//   kBare  inside a bare value (number, boolean, date): toml++ reads it up
//          to a value terminator, so a quote there is not a string
//   kAfter after a value: only ',', ']', '}', a comment or a line end may
//          follow in valid TOML; anything else is read as a bare value
enum class Code { kKey, kValue, kBare, kAfter };
enum class Text { kNone, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };

// "U+00E9", or the byte when it does not start valid UTF-8.
std::string describe(std::string_view t, size_t i) {
  const auto b = [&t](size_t k) { return static_cast<unsigned char>(t[k]); };
  const unsigned char lead = b(i);
  size_t n = 0;
  char32_t cp = 0;
  if ((lead & 0xe0) == 0xc0) n = 2, cp = lead & 0x1f;
  else if ((lead & 0xf0) == 0xe0) n = 3, cp = lead & 0x0f;
  else if ((lead & 0xf8) == 0xf0) n = 4, cp = lead & 0x07;
  bool ok = n != 0 && i + n <= t.size();
  for (size_t k = 1; ok && k < n; ++k) {
    ok = (b(i + k) & 0xc0) == 0x80;
    cp = (cp << 6) | (b(i + k) & 0x3f);
  }
  if (!ok) return fmt::format("byte 0x{:02X} (not UTF-8)", lead);
  return fmt::format("U+{:04X}", static_cast<uint32_t>(cp));
}

class Scanner {
 public:
  explicit Scanner(std::string_view t) : t_(t) {}

  std::optional<TomlGuardFinding> run() {
    size_t i = t_.starts_with("\xef\xbb\xbf") ? 3 : 0;  // toml++ skips a BOM
    while (i < t_.size()) {
      const auto u = static_cast<unsigned char>(t_[i]);
      if (u >= 0x80) {
        if (text_ != Text::kComment && text_ != Text::kBasic && text_ != Text::kLiteral)
          return finding(i);
        ++i;  // one character: the lead byte and its continuation bytes
        while (i < t_.size() && (static_cast<unsigned char>(t_[i]) & 0xc0) == 0x80) ++i;
        ++col_;
        continue;
      }
      if (t_[i] == '\n') {
        ++line_;
        col_ = 1;
        ++i;
        line_end();
        continue;
      }
      const size_t n = step(i);
      i += n;
      col_ += static_cast<uint32_t>(n);
    }
    return std::nullopt;
  }

 private:
  char top() const { return open_.empty() ? '\0' : open_.back(); }

  TomlGuardFinding finding(size_t i) const {
    const std::string what = describe(t_, i);
    if (text_ == Text::kNone)
      return {line_, col_,
              fmt::format("non-ASCII character outside a string or comment ({}): TOML allows it "
                          "only between quotes or after '#'",
                          what)};
    return {line_, col_,
            fmt::format("non-ASCII character in a multi-line string ({}): use a one-line string "
                        "(the system's toml++ 3.3 mishandles it there)",
                        what)};
  }

  // Length of the closing run of `q` at t_[i]: 3 to 5 quotes (TOML allows
  // one or two quotes of content just before the delimiter), else 0.
  size_t closing(size_t i, char q) const {
    size_t n = 0;
    while (i + n < t_.size() && t_[i + n] == q && n < 5) ++n;
    return n >= 3 ? n : 0;
  }

  // An escape in a basic string: the backslash and the ASCII character
  // after it (a line end or a non-ASCII character is looked at next).
  size_t escape(size_t i) const {
    const bool pair = i + 1 < t_.size() && t_[i + 1] != '\n' &&
                      static_cast<unsigned char>(t_[i + 1]) < 0x80;
    return pair ? 2 : 1;
  }

  void end_text() {
    const bool key = string_is_key_;
    text_ = Text::kNone;
    code_ = key ? Code::kKey : Code::kAfter;
  }

  void line_end() {
    if (text_ == Text::kComment || text_ == Text::kBasic || text_ == Text::kLiteral) end_text();
    if (text_ != Text::kNone) return;  // multi-line strings go on
    header_ = false;
    if (open_.empty()) code_ = Code::kKey;
    else if (code_ == Code::kBare) code_ = Code::kAfter;  // arrays span lines
  }

  // Bytes consumed by the ASCII character at t_[i].
  size_t step(size_t i) {
    const char c = t_[i];
    switch (text_) {
      case Text::kComment: return 1;
      case Text::kBasic:
        if (c == '\\') return escape(i);
        if (c == '"') end_text();
        return 1;
      case Text::kLiteral:
        if (c == '\'') end_text();
        return 1;
      case Text::kMultiBasic:
        if (c == '\\') return escape(i);
        if (const size_t n = closing(i, '"')) return end_text(), n;
        return 1;
      case Text::kMultiLiteral:
        if (const size_t n = closing(i, '\'')) return end_text(), n;
        return 1;
      case Text::kNone: return code(i);
    }
    return 1;
  }

  size_t open_string(size_t i, bool key) {
    const char q = t_[i];
    const bool multi = t_.substr(i).starts_with(q == '"' ? "\"\"\"" : "'''");
    string_is_key_ = key;
    if (q == '"') text_ = multi ? Text::kMultiBasic : Text::kBasic;
    else text_ = multi ? Text::kMultiLiteral : Text::kLiteral;
    return multi ? 3 : 1;
  }

  size_t code(size_t i) {
    const char c = t_[i];
    const bool next_same = i + 1 < t_.size() && t_[i + 1] == c;
    if (c == ' ' || c == '\t' || c == '\r' || c == '#') {
      if (code_ == Code::kBare) code_ = Code::kAfter;
      if (c == '#') text_ = Text::kComment;
      return 1;
    }
    switch (code_) {
      case Code::kKey:
        if (c == '"' || c == '\'') return open_string(i, true);
        if (c == '=') {
          code_ = Code::kValue;
        } else if (c == '[' && open_.empty() && !header_) {
          header_ = true;  // [table] or [[array of tables]]
          return next_same ? 2 : 1;
        } else if (c == ']' && header_) {
          header_ = false;
          code_ = Code::kAfter;
          return next_same ? 2 : 1;
        } else if (c == '}' && top() == '{') {
          open_.pop_back();
          code_ = Code::kAfter;
        }
        return 1;  // bare key characters and '.' (anything else is an error)
      case Code::kValue:
        if (c == '"' || c == '\'') return open_string(i, false);
        if (c == '[') {
          open_.push_back('[');
        } else if (c == '{') {
          open_.push_back('{');
          code_ = Code::kKey;
        } else if (c == ']' && top() == '[') {
          open_.pop_back();
          code_ = Code::kAfter;
        } else if (c != ',') {
          code_ = Code::kBare;
        }
        return 1;
      case Code::kBare:
      case Code::kAfter:
        if (c == ',' && top() != '\0') {
          code_ = top() == '[' ? Code::kValue : Code::kKey;
        } else if ((c == ']' && top() == '[') || (c == '}' && top() == '{')) {
          open_.pop_back();
          code_ = Code::kAfter;
        } else {
          code_ = Code::kBare;  // e.g. a date's time after the space, or an error
        }
        return 1;
    }
    return 1;
  }

  std::string_view t_;
  uint32_t line_ = 1;
  uint32_t col_ = 1;
  Code code_ = Code::kKey;
  Text text_ = Text::kNone;
  bool string_is_key_ = false;
  bool header_ = false;
  std::vector<char> open_;  // '[' arrays and '{' inline tables, innermost last
};

}  // namespace

std::optional<TomlGuardFinding> find_unsafe_non_ascii(std::string_view text) {
  return Scanner(text).run();
}

}  // namespace egpuctl
