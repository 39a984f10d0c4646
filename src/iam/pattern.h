// Wildcard patterns of the policy language: '*' matches any run of characters (including none,
// and across ':' and '/'), '?' exactly one character. Actions compare case-insensitively,
// resources and StringLike values case-sensitively.
//
// Policy variables (`${mlvault:UserName}`, and `${*}`, `${?}`, `${$}` for the literal
// characters) are substituted before matching, and what they substitute is always literal.
// Pure functions: thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mlvault::iam {

// Looks up the single value of a condition key for a policy variable; nullopt if the key is
// absent or has more than one value.
using VariableLookup = std::function<std::optional<std::string>(std::string_view key)>;

// True if `text` matches `pattern`.
bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case);

// Like WildcardMatch with the variables of `pattern` substituted through `lookup` (when
// `lookup` is empty, `${...}` is plain text). A variable that does not resolve makes the pattern
// match nothing: returns false.
bool WildcardMatchWithVariables(std::string_view pattern, std::string_view text, bool ignore_case,
                                const VariableLookup& lookup);

// `value` with its variables substituted (for StringEquals-like comparisons, where '*' is
// literal); nullopt if a variable does not resolve. Without a lookup, returns `value`.
std::optional<std::string> SubstituteVariables(std::string_view value,
                                               const VariableLookup& lookup);

// The condition keys named by `${...}` variables in `value` (not `${*}`, `${?}`, `${$}`).
std::vector<std::string> VariableNames(std::string_view value);

// ASCII lowercase.
std::string AsciiLower(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace mlvault::iam
