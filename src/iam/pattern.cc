#include "iam/pattern.h"

#include <cstdint>

namespace mlvault::iam {

namespace {

enum class Kind : uint8_t { kLiteral, kStar, kOne };

struct Token {
  Kind kind;
  char32_t ch;
};

// Decodes UTF-8 leniently: a byte that does not start a valid sequence stands for itself.
void AppendCodePoints(std::string_view s, std::u32string& out) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    char32_t cp = len == 1 ? c : len ? (c & (0xFF >> (len + 1))) : c;
    for (int k = 1; ok && k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (!ok) {
      out.push_back(c);
      ++i;
    } else {
      out.push_back(cp);
      i += len;
    }
  }
}

void AppendLiteral(std::string_view s, std::vector<Token>& out) {
  std::u32string cps;
  AppendCodePoints(s, cps);
  for (char32_t c : cps) out.push_back({Kind::kLiteral, c});
}

// Splits `pattern` into tokens; `wildcards` decides whether * and ? outside variables are
// wildcards. Returns false if a variable does not resolve.
bool Compile(std::string_view pattern, bool wildcards, const VariableLookup& lookup,
             std::vector<Token>& out) {
  size_t i = 0;
  while (i < pattern.size()) {
    if (lookup && pattern.compare(i, 2, "${") == 0) {
      size_t end = pattern.find('}', i + 2);
      if (end != std::string_view::npos) {
        std::string_view name = pattern.substr(i + 2, end - i - 2);
        if (name == "*" || name == "?" || name == "$") {
          out.push_back({Kind::kLiteral, static_cast<char32_t>(name[0])});
        } else {
          std::optional<std::string> v = lookup(name);
          if (!v) return false;
          AppendLiteral(*v, out);
        }
        i = end + 1;
        continue;
      }
    }
    char c = pattern[i];
    if (wildcards && c == '*') {
      out.push_back({Kind::kStar, 0});
      ++i;
    } else if (wildcards && c == '?') {
      out.push_back({Kind::kOne, 0});
      ++i;
    } else {
      size_t j = i + 1;
      while (j < pattern.size() && !(wildcards && (pattern[j] == '*' || pattern[j] == '?')) &&
             !(lookup && pattern.compare(j, 2, "${") == 0))
        ++j;
      AppendLiteral(pattern.substr(i, j - i), out);
      i = j;
    }
  }
  return true;
}

char32_t Fold(char32_t c, bool ignore_case) {
  return ignore_case && c >= 'A' && c <= 'Z' ? c + 32 : c;
}

bool MatchTokens(const std::vector<Token>& p, std::string_view text, bool ignore_case) {
  std::u32string t;
  AppendCodePoints(text, t);
  size_t pi = 0, ti = 0, star = std::string::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() &&
        (p[pi].kind == Kind::kOne || (p[pi].kind == Kind::kLiteral &&
                                      Fold(p[pi].ch, ignore_case) == Fold(t[ti], ignore_case)))) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi].kind == Kind::kStar) {
      star = pi++;
      mark = ti;
    } else if (star != std::string::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi].kind == Kind::kStar) ++pi;
  return pi == p.size();
}

}  // namespace

bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case) {
  return WildcardMatchWithVariables(pattern, text, ignore_case, nullptr);
}

bool WildcardMatchWithVariables(std::string_view pattern, std::string_view text, bool ignore_case,
                                const VariableLookup& lookup) {
  std::vector<Token> tokens;
  if (!Compile(pattern, true, lookup, tokens)) return false;
  return MatchTokens(tokens, text, ignore_case);
}

std::optional<std::string> SubstituteVariables(std::string_view value,
                                               const VariableLookup& lookup) {
  if (!lookup) return std::string(value);
  std::string out;
  size_t i = 0;
  while (i < value.size()) {
    if (value.compare(i, 2, "${") == 0) {
      size_t end = value.find('}', i + 2);
      if (end != std::string_view::npos) {
        std::string_view name = value.substr(i + 2, end - i - 2);
        if (name == "*" || name == "?" || name == "$") {
          out += name;
        } else {
          std::optional<std::string> v = lookup(name);
          if (!v) return std::nullopt;
          out += *v;
        }
        i = end + 1;
        continue;
      }
    }
    out += value[i++];
  }
  return out;
}

std::vector<std::string> VariableNames(std::string_view value) {
  std::vector<std::string> names;
  size_t i = 0;
  while ((i = value.find("${", i)) != std::string_view::npos) {
    size_t end = value.find('}', i + 2);
    if (end == std::string_view::npos) break;
    std::string_view name = value.substr(i + 2, end - i - 2);
    if (name != "*" && name != "?" && name != "$") names.emplace_back(name);
    i = end + 1;
  }
  return names;
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

}  // namespace mlvault::iam
