#include "suggest.h"

#include <algorithm>

namespace egpuctl {

size_t edit_distance(std::string_view a, std::string_view b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

std::vector<std::string> suggestions(std::string_view input,
                                     const std::vector<std::string>& candidates) {
  std::vector<std::string> out;
  if (input.empty()) return out;
  const size_t limit = std::min<size_t>(2, std::max<size_t>(1, input.size() / 3));
  size_t best = limit + 1;
  for (const std::string& c : candidates) {
    const size_t d = edit_distance(input, c);
    if (d > limit) continue;
    if (d < best) {
      best = d;
      out.clear();
    }
    if (d == best) out.push_back(c);
  }
  if (out.empty()) {
    for (const std::string& c : candidates)
      if (c.size() > input.size() && c.compare(0, input.size(), input) == 0) out.push_back(c);
  }
  return out;
}

std::string did_you_mean(std::string_view input, const std::vector<std::string>& candidates) {
  const std::vector<std::string> s = suggestions(input, candidates);
  if (s.empty()) return {};
  std::string text = "; did you mean ";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0) text += i + 1 == s.size() ? " or " : ", ";
    text += "'" + s[i] + "'";
  }
  return text + "?";
}

}  // namespace egpuctl
