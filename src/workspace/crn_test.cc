#include "workspace/crn.h"

#include <gtest/gtest.h>

namespace mlvault::workspace {
namespace {

constexpr char kAcct[] = "0f8e5a1c-3b7d-4c2e-9a6f-1d2b3c4d5e6f";
constexpr char kId[] = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";

TEST(Crn, RoundTrip) {
  Crn c = MakeCrn(kWorkspaceType, kAcct, kId);
  EXPECT_EQ(c.ToString(), std::string("crn:mlvault:ml:us-west-1:") + kAcct + ":workspace:" + kId);
  auto parsed = ParseCrn(c.ToString(), kWorkspaceType);
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(*parsed, c);
  EXPECT_EQ(MakeCrn(kBackupType, kAcct, kId).service, "ml");
  EXPECT_EQ(MakeCrn(kUserType, kAcct, kId).service, "iam");
  EXPECT_EQ(MakeCrn(kEnvironmentType, kAcct, kId).service, "environments");
}

void ExpectBad(const std::string& text, const std::string& needle, std::string_view type = {}) {
  auto r = ParseCrn(text, type);
  ASSERT_FALSE(r) << text;
  EXPECT_EQ(r.error().code(), util::ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find(needle), std::string::npos) << r.error().message();
}

TEST(Crn, StrictErrorsNameThePart) {
  std::string acct = kAcct, id = kId;
  ExpectBad("", "empty");
  ExpectBad("crn:mlvault:ml:us-west-1:" + acct + ":workspace", "expected 7 colon-separated parts");
  ExpectBad("crn:mlvault:ml:us-west-1:" + acct + ":workspace:" + id + ":x", "got 8");
  ExpectBad("arn:mlvault:ml:us-west-1:" + acct + ":workspace:" + id, "part 1");
  ExpectBad("crn:aws:ml:us-west-1:" + acct + ":workspace:" + id, "partition (part 2)");
  ExpectBad("crn:mlvault:s3:us-west-1:" + acct + ":workspace:" + id, "service (part 3)");
  ExpectBad("crn:mlvault:ml:uswest1:" + acct + ":workspace:" + id, "region (part 4)");
  ExpectBad("crn:mlvault:ml:US-west-1:" + acct + ":workspace:" + id, "region (part 4)");
  ExpectBad("crn:mlvault:ml:us-west-1:not-a-uuid:workspace:" + id, "account (part 5)");
  ExpectBad("crn:mlvault:ml:us-west-1:" + acct + ":bucket:" + id, "resource type (part 6)");
  ExpectBad("crn:mlvault:iam:us-west-1:" + acct + ":workspace:" + id, "belongs to service \"ml\"");
  ExpectBad("crn:mlvault:ml:us-west-1:" + acct + ":workspace:" + id.substr(1),
            "resource id (part 7)");
  ExpectBad(
      "crn:mlvault:ml:us-west-1:" + acct + ":workspace:" + std::string(kId).replace(0, 1, "A"),
      "resource id (part 7)");
  ExpectBad("crn:mlvault:ml:us-west-1:" + acct + ":workspace:" + id,
            "expected a workspace_backup CRN", kBackupType);
}

}  // namespace
}  // namespace mlvault::workspace
