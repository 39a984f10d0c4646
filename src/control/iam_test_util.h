// Shared fixture of the iam tests in control/: a catalog in a fresh temporary $MLVAULT_HOME,
// an initialised account, a fake clock, and no MLVAULT_* credentials in the environment.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "catalog/db.h"
#include "control/embedded.h"
#include "control/iam_authorizer.h"
#include "control/iam_ops.h"
#include "control/identity.h"
#include "util/clock.h"
#include "util/files.h"

namespace mlvault::control::testing {

class IamFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("MLVAULT_ACCESS_KEY_ID");
    unsetenv("MLVAULT_PRIVATE_KEY");
    auto dir = util::MakeTempDir("mlvault-iam-test");
    ASSERT_TRUE(dir) << dir.error().ToString();
    home_ = *dir;
    auto db = catalog::OpenSqlite(home_ + "/catalog.db");
    ASSERT_TRUE(db) << db.error().ToString();
    db_ = std::move(*db);
    // Every area's schema, as a real catalog has (delete-policy also looks at role attachments).
    ASSERT_TRUE(db_->Migrate(AllMigrations()));
    authz_ = MakeIamAuthorizer(*db_, clock_);
    ops_ = std::make_unique<IamOperations>(*db_, *authz_, clock_);
  }
  void TearDown() override {
    unsetenv("MLVAULT_ACCESS_KEY_ID");
    unsetenv("MLVAULT_PRIVATE_KEY");
    ops_.reset();
    authz_.reset();
    db_.reset();
    (void)util::RemoveAll(home_);
  }

  // Initialises the account and returns its administrator as a Caller.
  Caller Admin() {
    auto init = InitAccount(*db_, home_, InitOptions{}, clock_);
    EXPECT_TRUE(init) << init.error().ToString();
    auto c = ResolveCaller(*db_, home_, "");
    EXPECT_TRUE(c) << c.error().ToString();
    return c ? *c : Caller{};
  }

  // Creates a user with `document` attached as policy `<name>-policy` (if given) and returns
  // it as a Caller.
  Caller UserWith(const Caller& admin, const std::string& name, const std::string& document = "") {
    auto u = ops_->CreateUser(admin, name);
    EXPECT_TRUE(u) << u.error().ToString();
    if (!document.empty()) {
      auto p = ops_->CreatePolicy(admin, name + "-policy", document, "");
      EXPECT_TRUE(p) << p.error().ToString();
      auto a = ops_->AttachPolicy(admin, UserRef{name, ""}, name + "-policy");
      EXPECT_TRUE(a) << a.error().ToString();
    }
    Caller c = admin;
    c.principal_crn = u ? u->user_crn : "";
    c.principal_name = name;
    return c;
  }

  int64_t CountAudit(const std::string& outcome = "") {
    auto rows = outcome.empty()
                    ? db_->Query("SELECT COUNT(*) FROM audit_events")
                    : db_->Query("SELECT COUNT(*) FROM audit_events WHERE outcome = ?", {outcome});
    return rows ? (*rows)[0].Int(0) : -1;
  }

  static int Mode(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : -1;
  }

  std::string home_;
  util::FakeClock clock_{1'769'397'730'000'000};  // 2026-01-26T03:22:10Z
  std::unique_ptr<catalog::Db> db_;
  std::unique_ptr<Authorizer> authz_;
  std::unique_ptr<IamOperations> ops_;
};

}  // namespace mlvault::control::testing
