// The evaluator's table of cases, shared by evaluator_test.cc (basics, policy variables; it
// defines the table's test, EvaluatorTableTest.Decides) and evaluator_conditions_test.cc
// (conditions and set qualifiers), which are built into one test binary (iam_evaluator_test):
// each case is policies (as documents), a request and the expected outcome and deciding
// statement.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "iam/evaluator.h"
#include "iam/policy.h"

namespace mlvault::iam::evaluator_table {

constexpr const char* kWs =
    "crn:mlvault:ml:us-west-1:acct1:workspace:11111111-1111-4111-8111-111111111111";
constexpr const char* kBackup =
    "crn:mlvault:ml:us-west-1:acct1:workspace_backup:22222222-2222-4222-8222-222222222222";

struct Case {
  const char* name;
  std::vector<const char*> policies;  // documents; named P0, P1, ...
  const char* action;
  const char* resource;
  RequestContext context;
  Outcome expected;
  const char* deciding_policy = nullptr;  // for allowed/explicitDeny
  size_t deciding_index = 0;
};

inline std::string Stmt(const std::string& body) {
  return "{\"Version\":\"2012-10-17\",\"Statement\":[" + body + "]}";
}

// Shorthands for documents used by many cases.
inline std::string Allow(const std::string& action, const std::string& resource,
                  const std::string& condition = "") {
  return "{\"Effect\":\"Allow\",\"Action\":\"" + action + "\",\"Resource\":\"" + resource + "\"" +
         (condition.empty() ? "" : ",\"Condition\":" + condition) + "}";
}
inline std::string Deny(const std::string& action, const std::string& resource,
                 const std::string& condition = "") {
  return "{\"Effect\":\"Deny\",\"Action\":\"" + action + "\",\"Resource\":\"" + resource + "\"" +
         (condition.empty() ? "" : ",\"Condition\":" + condition) + "}";
}

// Keeps the documents alive for the const char* table.
inline const char* Keep(std::string s) {
  static std::vector<std::unique_ptr<std::string>> store;
  store.push_back(std::make_unique<std::string>(std::move(s)));
  return store.back()->c_str();
}
inline const char* AllowIf(const std::string& cond) { return Keep(Stmt(Allow("*", "*", cond))); }

class EvaluatorTableTest : public ::testing::TestWithParam<Case> {};


using O = Outcome;
const auto A = O::kAllowed;
const auto D = O::kExplicitDeny;
const auto I = O::kImplicitDeny;

const RequestContext kProd = {{"ml:EnvironmentName", {"prod"}}};
const RequestContext kDev = {{"ml:EnvironmentName", {"dev"}}};

}  // namespace mlvault::iam::evaluator_table
