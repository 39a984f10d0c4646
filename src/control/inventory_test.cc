// Inventory queries without a workspace: path globs, the diff of two inventories and the item
// references of restore-workspace-items.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "control/inventory.h"

namespace mlvault::control {
namespace {

using nlohmann::json;

TEST(PathGlob, StarStaysInAFolderDoubleStarSpansFolders) {
  EXPECT_TRUE(PathGlobMatch("projects/p1/**", "projects/p1/a/b/c.csv"));
  EXPECT_TRUE(PathGlobMatch("projects/p1/**", "projects/p1/x"));
  EXPECT_FALSE(PathGlobMatch("projects/p1/**", "projects/p10/x"));
  EXPECT_TRUE(PathGlobMatch("projects/p1/data/*.csv", "projects/p1/data/a.csv"));
  EXPECT_FALSE(PathGlobMatch("projects/p1/data/*.csv", "projects/p1/data/sub/a.csv"));
  EXPECT_TRUE(PathGlobMatch("projects/**/a.csv", "projects/a.csv"));
  EXPECT_TRUE(PathGlobMatch("projects/**/a.csv", "projects/p/q/a.csv"));
  EXPECT_FALSE(PathGlobMatch("projects/**/a.csv", "projects/p/xa.csv"));
  EXPECT_TRUE(PathGlobMatch("models/*/build-?/manifest.json", "models/churn/build-7/manifest.json"));
  EXPECT_FALSE(PathGlobMatch("models/*/build-?/manifest.json", "models/churn/build-17/manifest.json"));
  EXPECT_FALSE(PathGlobMatch("projects/p1", "projects/p1/a"));
  EXPECT_EQ(GlobLiteralPrefix("projects/p1/data/*.csv"), "projects/p1/data/");
  EXPECT_EQ(GlobLiteralPrefix("projects/p?/x"), "projects/p");
  EXPECT_EQ(GlobLiteralPrefix("projects/p1/a.csv"), "projects/p1/a.csv");
}

TEST(Diff, ListsExactlyWhatChanged) {
  json a = {{"projects", {{{"id", "1"}, {"name", "p1"}, {"files", 2}, {"bytes", 30}}}},
            {"jobs", json::array()},
            {"experiments", {{{"id", "e"}, {"name", "e1"}, {"runs", {{{"id", "r1"}, {"name", "a"}}}}}}},
            {"models", {{{"id", "m"}, {"name", "churn"},
                         {"builds", {{{"number", 1}, {"id", "b1"}}}},
                         {"deployments", {{{"id", "d1"}, {"build", 1}, {"status", "running"}}}}}}},
            {"applications", json::array()}};
  json b = a;
  b["projects"][0]["files"] = 3;
  b["projects"][0]["bytes"] = 40;
  b["models"][0]["builds"].push_back({{"number", 2}, {"id", "b2"}});
  b["experiments"][0]["runs"].push_back({{"id", "r2"}, {"name", "b"}});
  std::vector<catalog::InventoryFile> fa = {{"projects/p1/x", "projects", "1/x", 10, "c1"},
                                            {"projects/p1/y", "projects", "1/y", 20, "c2"}};
  std::vector<catalog::InventoryFile> fb = {{"projects/p1/x", "projects", "1/x", 10, "c9"},
                                            {"projects/p1/z", "projects", "1/z", 5, "c3"},
                                            {"projects/p1/y", "projects", "1/y", 20, "c2"}};
  json d = json::parse(DiffInventories(a.dump(), fa, b.dump(), fb));
  EXPECT_EQ(d["files"]["added"], json::parse(R"([{"path":"projects/p1/z","size":5}])"));
  EXPECT_EQ(d["files"]["removed"], json::array());
  EXPECT_EQ(d["files"]["changed"], json::parse(R"([{"path":"projects/p1/x","fromSize":10,"toSize":10}])"));
  EXPECT_EQ(d["builds"]["added"], json::parse(R"(["churn@2"])"));
  EXPECT_EQ(d["experimentRuns"]["added"], json::array({"e1/b (r2)"}));
  EXPECT_EQ(d["projects"]["changed"][0]["fields"]["files"], json::parse(R"({"from":2,"to":3})"));
  EXPECT_EQ(d["models"]["changed"], json::array());  // its builds are diffed on their own
  EXPECT_EQ(d["experiments"]["changed"], json::array());
  json none = json::parse(DiffInventories(a.dump(), fa, a.dump(), fa));
  for (auto it = none.begin(); it != none.end(); ++it)
    EXPECT_EQ(it.value()["added"].size() + it.value()["removed"].size() + it.value()["changed"].size(), 0u) << it.key();
}

TEST(ItemRef, ParsesEveryFormAndRefusesTheRest) {
  auto m = ParseItemRef("model:churn@build-7");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, "model");
  EXPECT_EQ(m->name, "churn");
  EXPECT_EQ(m->build, 7);
  EXPECT_EQ(ParseItemRef("model:churn@3")->build, 3);
  EXPECT_EQ(ParseItemRef("project:a:b")->name, "a:b");
  EXPECT_EQ(ParseItemRef("application:dash")->type, "application");
  for (const char* bad : {"churn", "dataset:x", "project:", "model:churn@build-0", "model:churn@x"}) {
    auto r = ParseItemRef(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().field(), "items") << bad;
  }
  std::string doc = R"({"models":[{"name":"churn","builds":[{"number":1}]}],"projects":[]})";
  EXPECT_TRUE(FindItemInInventory(doc, *ParseItemRef("model:churn@1"), "B"));
  auto no_build = FindItemInInventory(doc, *ParseItemRef("model:churn@2"), "B");
  ASSERT_FALSE(no_build);
  EXPECT_EQ(no_build.error().code(), util::ErrorCode::kNotFound);
  EXPECT_NE(no_build.error().message().find("no build 2 of model churn"), std::string::npos);
  EXPECT_FALSE(FindItemInInventory(doc, *ParseItemRef("project:p1"), "B"));
}

}  // namespace
}  // namespace mlvault::control
