#include "cli/query.h"

#include <cctype>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mlvault::cli {
namespace {

using nlohmann::json;

struct Expr;

struct Step {
  enum Kind { kField, kIndex, kProject, kFilter, kList, kHash } kind;
  std::string name;  // kField; kFilter: the compared field
  long index = 0;    // kIndex
  bool equal = true; // kFilter: == (true) or !=
  json literal;      // kFilter
  std::vector<std::pair<std::string, std::shared_ptr<Expr>>> subs;  // kList (names unused), kHash
};

struct Expr {
  std::shared_ptr<Expr> length_of;  // length(expr)
  std::vector<Step> steps;
};

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  util::Result<std::shared_ptr<Expr>> Parse() {
    auto e = ParseExpr();
    if (!error_.empty()) return Fail();
    Skip();
    if (pos_ < s_.size()) {
      error_ = "unexpected '" + std::string(1, s_[pos_]) + "'";
      return Fail();
    }
    return e;
  }

 private:
  std::unexpected<util::Error> Fail() {
    return std::unexpected(util::InvalidArgument(
        "--query: " + error_ + " at column " + std::to_string(pos_ + 1) +
        " (the supported subset: a.b, a[0], a[-1], a[], a[?k=='v'], a[].[x, y], a[].{n: x}, "
        "length(a); see mlvault help query)"));
  }
  void Skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool Eat(char c) {
    Skip();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool Expect(char c) {
    if (Eat(c)) return true;
    if (error_.empty())
      error_ = pos_ < s_.size() ? "expected '" + std::string(1, c) + "', found '" +
                                      std::string(1, s_[pos_]) + "'"
                                : "expected '" + std::string(1, c) + "', found the end";
    return false;
  }
  // A field name: identifier or "quoted".
  bool Name(std::string* out) {
    Skip();
    if (pos_ < s_.size() && s_[pos_] == '"') {
      size_t end = s_.find('"', pos_ + 1);
      if (end == std::string_view::npos) {
        error_ = "unterminated \"name\"";
        return false;
      }
      *out = std::string(s_.substr(pos_ + 1, end - pos_ - 1));
      pos_ = end + 1;
      return true;
    }
    size_t start = pos_;
    while (pos_ < s_.size() &&
           (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_'))
      ++pos_;
    if (pos_ == start || std::isdigit(static_cast<unsigned char>(s_[start]))) {
      pos_ = start;
      if (error_.empty())
        error_ = pos_ < s_.size() ? "expected a field name, found '" + std::string(1, s_[pos_]) + "'"
                                  : "expected a field name, found the end";
      return false;
    }
    *out = std::string(s_.substr(start, pos_ - start));
    return true;
  }

  std::shared_ptr<Expr> ParseExpr() {
    auto e = std::make_shared<Expr>();
    Skip();
    if (s_.substr(pos_).starts_with("length")) {
      size_t save = pos_;
      pos_ += 6;
      if (Eat('(')) {
        e->length_of = ParseExpr();
        Expect(')');
        return e;
      }
      pos_ = save;
    }
    // First step: a name, or a bracket applied to the whole value.
    Skip();
    if (pos_ < s_.size() && s_[pos_] != '[') {
      if (!FieldStep(*e)) return e;
    }
    for (;;) {
      Skip();
      if (pos_ >= s_.size() || !error_.empty()) break;
      if (s_[pos_] == '.') {
        ++pos_;
        Skip();
        if (Eat('[')) {
          if (!ListStep(*e)) return e;
        } else if (Eat('{')) {
          if (!HashStep(*e)) return e;
        } else if (!FieldStep(*e)) {
          return e;
        }
      } else if (s_[pos_] == '[') {
        ++pos_;
        if (!Bracket(*e)) return e;
      } else {
        break;
      }
    }
    return e;
  }
  bool FieldStep(Expr& e) {
    Step st{Step::kField};
    if (!Name(&st.name)) return false;
    e.steps.push_back(std::move(st));
    return true;
  }
  // After '[': "]", "N]", "?name==literal]".
  bool Bracket(Expr& e) {
    Skip();
    if (Eat(']')) {
      e.steps.push_back(Step{Step::kProject});
      return true;
    }
    if (Eat('?')) {
      Step st{Step::kFilter};
      if (!Name(&st.name)) return false;
      Skip();
      if (s_.substr(pos_).starts_with("==")) {
        st.equal = true;
      } else if (s_.substr(pos_).starts_with("!=")) {
        st.equal = false;
      } else {
        error_ = "expected == or != in the filter";
        return false;
      }
      pos_ += 2;
      if (!Literal(&st.literal)) return false;
      if (!Expect(']')) return false;
      e.steps.push_back(std::move(st));
      return true;
    }
    Skip();
    size_t start = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    std::string digits(s_.substr(start, pos_ - start));
    if (digits.empty() || digits == "-") {
      pos_ = start;
      error_ = "expected ], an index or ?filter inside [ ]";
      return false;
    }
    Step st{Step::kIndex};
    st.index = std::stol(digits);
    if (!Expect(']')) return false;
    e.steps.push_back(std::move(st));
    return true;
  }
  bool Literal(json* out) {
    Skip();
    if (Eat('\'')) {
      size_t end = s_.find('\'', pos_);
      if (end == std::string_view::npos) {
        error_ = "unterminated 'string'";
        return false;
      }
      *out = std::string(s_.substr(pos_, end - pos_));
      pos_ = end + 1;
      return true;
    }
    if (Eat('`')) {
      size_t end = s_.find('`', pos_);
      if (end == std::string_view::npos) {
        error_ = "unterminated `literal`";
        return false;
      }
      *out = json::parse(s_.substr(pos_, end - pos_), nullptr, false);
      if (out->is_discarded()) {
        error_ = "the `literal` is not JSON";
        return false;
      }
      pos_ = end + 1;
      return true;
    }
    error_ = "expected a 'string' or `literal` to compare with";
    return false;
  }
  bool ListStep(Expr& e) {
    Step st{Step::kList};
    do {
      auto sub = ParseExpr();
      if (!error_.empty()) return false;
      st.subs.emplace_back("", sub);
    } while (Eat(','));
    if (!Expect(']')) return false;
    e.steps.push_back(std::move(st));
    return true;
  }
  bool HashStep(Expr& e) {
    Step st{Step::kHash};
    do {
      std::string key;
      if (!Name(&key) || !Expect(':')) return false;
      auto sub = ParseExpr();
      if (!error_.empty()) return false;
      st.subs.emplace_back(key, sub);
    } while (Eat(','));
    if (!Expect('}')) return false;
    e.steps.push_back(std::move(st));
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
};

json Eval(const Expr& e, const json& v);

json EvalSteps(const std::vector<Step>& steps, size_t i, const json& v) {
  if (i == steps.size()) return v;
  if (v.is_null()) return nullptr;
  const Step& st = steps[i];
  switch (st.kind) {
    case Step::kField:
      if (!v.is_object() || !v.contains(st.name)) return nullptr;
      return EvalSteps(steps, i + 1, v[st.name]);
    case Step::kIndex: {
      if (!v.is_array()) return nullptr;
      long n = static_cast<long>(v.size());
      long at = st.index < 0 ? n + st.index : st.index;
      if (at < 0 || at >= n) return nullptr;
      return EvalSteps(steps, i + 1, v[static_cast<size_t>(at)]);
    }
    case Step::kProject:
    case Step::kFilter: {
      if (!v.is_array()) return nullptr;
      json items = json::array();
      for (const auto& el : v) {
        if (st.kind == Step::kProject && el.is_array()) {  // [] flattens one level
          for (const auto& x : el) items.push_back(x);
        } else if (st.kind == Step::kProject) {
          items.push_back(el);
        } else {
          json f = el.is_object() && el.contains(st.name) ? el[st.name] : json(nullptr);
          if ((f == st.literal) == st.equal) items.push_back(el);
        }
      }
      json out = json::array();
      for (const auto& el : items) {
        json r = EvalSteps(steps, i + 1, el);
        if (!r.is_null()) out.push_back(std::move(r));
      }
      return out;
    }
    case Step::kList: {
      json out = json::array();
      for (const auto& [_, sub] : st.subs) out.push_back(Eval(*sub, v));
      return EvalSteps(steps, i + 1, out);
    }
    case Step::kHash: {
      json out = json::object();
      for (const auto& [key, sub] : st.subs) out[key] = Eval(*sub, v);
      return EvalSteps(steps, i + 1, out);
    }
  }
  return nullptr;
}

json Eval(const Expr& e, const json& v) {
  if (e.length_of) {
    json x = Eval(*e.length_of, v);
    if (x.is_string()) return x.get<std::string>().size();
    if (x.is_array() || x.is_object()) return x.size();
    return nullptr;
  }
  return EvalSteps(e.steps, 0, v);
}

}  // namespace

util::Result<json> ApplyQuery(std::string_view expression, const json& value) {
  if (expression.find_first_not_of(" \t") == std::string_view::npos)
    return util::InvalidArgument("--query: the expression is empty");
  auto e = MLV_TRY(Parser(expression).Parse());
  return Eval(*e, value);
}

}  // namespace mlvault::cli
