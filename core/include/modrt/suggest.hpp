// "did you mean" for misspelt names in error messages: keys, system calls, capabilities.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace modrt {

// The candidate nearest to `name` by edit distance, if it is close enough to be a likely typo
// (fewer than min(3, half the length) edits); empty otherwise.
std::string closest_match(std::string_view name, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" for closest_match, or "" when nothing is close.
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace modrt
