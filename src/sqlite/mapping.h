// Row mapping: one declaration per table of which column holds which record field, from which
// the column list, the INSERT statement, the bound values and the reading of a result row are all
// derived, so they cannot drift apart (no hand-written column list next to index-based reads).
//
//   const sqlite::Table<Env> kEnvs("environments", {sqlite::Col("id", &Env::id),
//                                                   sqlite::Col("created_at", &Env::created_at)});
//   db.Query("SELECT " + kEnvs.Columns() + " FROM environments WHERE id = ?", {id})
//   Env e = kEnvs.FromRow(row);                 db.Exec(kEnvs.InsertSql(), kEnvs.Values(e))
//
// Field types: std::string, int64_t, int, uint64_t, double, bool (stored 0/1), and std::optional
// of string / int64_t (NULL when empty). A Table is immutable once built: thread-safe to share.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sqlite/row.h"

namespace mlvault::sqlite {

template <typename T>
struct Codec;
template <>
struct Codec<std::string> {
  static Value To(const std::string& v) { return v; }
  static std::string From(const Row& r, size_t i) { return r.Text(i); }
};
template <>
struct Codec<int64_t> {
  static Value To(int64_t v) { return v; }
  static int64_t From(const Row& r, size_t i) { return r.Int(i); }
};
template <>
struct Codec<int> {
  static Value To(int v) { return static_cast<int64_t>(v); }
  static int From(const Row& r, size_t i) { return static_cast<int>(r.Int(i)); }
};
template <>
struct Codec<uint64_t> {
  static Value To(uint64_t v) { return static_cast<int64_t>(v); }
  static uint64_t From(const Row& r, size_t i) { return static_cast<uint64_t>(r.Int(i)); }
};
template <>
struct Codec<double> {
  static Value To(double v) { return v; }
  static double From(const Row& r, size_t i) { return r.Real(i); }
};
template <>
struct Codec<bool> {
  static Value To(bool v) { return static_cast<int64_t>(v ? 1 : 0); }
  static bool From(const Row& r, size_t i) { return r.Int(i) != 0; }
};
template <>
struct Codec<std::optional<std::string>> {
  static Value To(const std::optional<std::string>& v) { return v ? Value(*v) : Value(nullptr); }
  static std::optional<std::string> From(const Row& r, size_t i) { return r.OptText(i); }
};
template <>
struct Codec<std::optional<int64_t>> {
  static Value To(const std::optional<int64_t>& v) { return v ? Value(*v) : Value(nullptr); }
  static std::optional<int64_t> From(const Row& r, size_t i) { return r.OptInt(i); }
};

// One column: its name and how it reads/writes its field of R.
template <typename R>
struct Column {
  std::string name;
  std::function<Value(const R&)> get;
  std::function<void(R&, const Row&, size_t)> set;
};

template <typename R, typename T>
Column<R> Col(std::string name, T R::*member) {
  return Column<R>{
      std::move(name), [member](const R& r) -> Value { return Codec<T>::To(r.*member); },
      [member](R& r, const Row& row, size_t i) { r.*member = Codec<T>::From(row, i); }};
}

template <typename R>
class Table {
 public:
  Table(std::string name, std::vector<Column<R>> columns)
      : name_(std::move(name)), columns_(std::move(columns)) {}

  const std::string& name() const { return name_; }
  size_t size() const { return columns_.size(); }

  // "a, b, c"; with an alias "w.a, w.b, w.c".
  std::string Columns(std::string_view alias = {}) const {
    std::string out;
    for (const auto& c : columns_) {
      if (!out.empty()) out += ", ";
      if (!alias.empty()) out.append(alias).append(".");
      out += c.name;
    }
    return out;
  }
  // "SELECT <columns> FROM <table> " (append the WHERE clause).
  std::string SelectSql() const { return "SELECT " + Columns() + " FROM " + name_ + " "; }
  // "INSERT INTO <table> (<columns>) VALUES (?, ...)", to bind with Values().
  std::string InsertSql() const {
    std::string q;
    for (size_t i = 0; i < columns_.size(); ++i) q += i ? ", ?" : "?";
    return "INSERT INTO " + name_ + " (" + Columns() + ") VALUES (" + q + ")";
  }
  // The record's values in column order.
  std::vector<Value> Values(const R& r) const {
    std::vector<Value> out;
    out.reserve(columns_.size());
    for (const auto& c : columns_) out.push_back(c.get(r));
    return out;
  }
  // Fills the mapped fields of `r` from row columns [first, first + size()).
  void Read(const Row& row, R& r, size_t first = 0) const {
    for (size_t i = 0; i < columns_.size(); ++i) columns_[i].set(r, row, first + i);
  }
  R FromRow(const Row& row, size_t first = 0) const {
    R r{};
    Read(row, r, first);
    return r;
  }

 private:
  std::string name_;
  std::vector<Column<R>> columns_;
};

}  // namespace mlvault::sqlite
