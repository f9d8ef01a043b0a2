// "Did you mean ...?" for mistyped commands and options.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace egpuctl {

// Optimal string alignment distance: insertions, deletions, substitutions
// and transpositions of adjacent characters each cost 1.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidates closest to `input`: those at the smallest edit distance
// when it is at most max(1, input.size() / 3) (at most 2), plus those that
// start with `input` when nothing is that close.  In candidate order.
std::vector<std::string> suggestions(std::string_view input,
                                     const std::vector<std::string>& candidates);

// "; did you mean 'a'?" / "; did you mean 'a' or 'b'?" or "" when there is
// no suggestion.
std::string did_you_mean(std::string_view input, const std::vector<std::string>& candidates);

}  // namespace egpuctl
