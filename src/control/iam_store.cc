#include "control/iam_store.h"

#include "sqlite/mapping.h"

namespace mlvault::control {

using catalog::Row;
using catalog::Value;

std::string IamCrn(std::string_view region, std::string_view account_id, std::string_view type,
                   std::string_view id) {
  return "crn:mlvault:iam:" + std::string(region) + ":" + std::string(account_id) + ":" +
         std::string(type) + ":" + std::string(id);
}

std::string AccountCrn(const AccountRow& account) {
  return IamCrn(account.region, account.id, "account", account.id);
}

std::string CrnAccount(std::string_view crn) {
  std::vector<std::string_view> parts;
  for (;;) {
    size_t c = crn.find(':');
    parts.push_back(crn.substr(0, c));
    if (c == std::string_view::npos) break;
    crn.remove_prefix(c + 1);
  }
  if (parts.size() != 7 || parts[0] != "crn") return "";
  return std::string(parts[4]);
}

namespace {

// One mapping per table: the column lists, row reads and INSERTs below are derived from these.
using sqlite::Col;
const sqlite::Table<AccountRow> kAccounts("accounts", {Col("id", &AccountRow::id),
                                                       Col("name", &AccountRow::name),
                                                       Col("region", &AccountRow::region),
                                                       Col("created_at", &AccountRow::created_at)});
const sqlite::Table<UserRow> kUsers("iam_users", {Col("crn", &UserRow::crn),
                                                  Col("account_id", &UserRow::account_id),
                                                  Col("name", &UserRow::name),
                                                  Col("created_at", &UserRow::created_at)});
const sqlite::Table<AccessKeyRow> kKeys(
    "iam_access_keys",
    {Col("access_key_id", &AccessKeyRow::access_key_id),
     Col("account_id", &AccessKeyRow::account_id), Col("user_crn", &AccessKeyRow::user_crn),
     Col("secret_verifier", &AccessKeyRow::secret_verifier), Col("status", &AccessKeyRow::status),
     Col("created_at", &AccessKeyRow::created_at), Col("deleted_at", &AccessKeyRow::deleted_at)});
const sqlite::Table<PolicyRow> kPolicies(
    "iam_policies",
    {Col("crn", &PolicyRow::crn), Col("account_id", &PolicyRow::account_id),
     Col("name", &PolicyRow::name), Col("description", &PolicyRow::description),
     Col("document", &PolicyRow::document), Col("created_at", &PolicyRow::created_at),
     Col("created_by", &PolicyRow::created_by)});
const sqlite::Table<EntitlementRow> kEntitlements("iam_entitlements",
                                                  {Col("account_id", &EntitlementRow::account_id),
                                                   Col("name", &EntitlementRow::name),
                                                   Col("granted_at", &EntitlementRow::granted_at),
                                                   Col("granted_by", &EntitlementRow::granted_by)});
// Policies are read with the alias p (joined with attachments).
const std::string kPolicySelect = "SELECT " + kPolicies.Columns("p") + " FROM iam_policies p ";

AccountRow ToAccount(const Row& r) { return kAccounts.FromRow(r); }
UserRow ToUser(const Row& r) { return kUsers.FromRow(r); }
AccessKeyRow ToKey(const Row& r) { return kKeys.FromRow(r); }
PolicyRow ToPolicy(const Row& r) { return kPolicies.FromRow(r); }
EntitlementRow ToEntitlement(const Row& r) { return kEntitlements.FromRow(r); }

template <class T, class F>
util::Result<std::optional<T>> One(util::Result<std::vector<Row>> rows, F convert) {
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<T>();
  return std::optional<T>(convert(rows->front()));
}

template <class T, class F>
util::Result<std::vector<T>> All(util::Result<std::vector<Row>> rows, F convert) {
  if (!rows) return std::unexpected(rows.error());
  std::vector<T> out;
  for (const auto& r : *rows) out.push_back(convert(r));
  return out;
}

std::string S(std::string_view s) { return std::string(s); }

}  // namespace

util::Result<std::optional<AccountRow>> IamStore::FirstAccount() {
  return One<AccountRow>(db_.Query(kAccounts.SelectSql() + "ORDER BY created_at, id LIMIT 1"),
                         ToAccount);
}

util::Result<std::optional<AccountRow>> IamStore::GetAccount(std::string_view id) {
  return One<AccountRow>(db_.Query(kAccounts.SelectSql() + "WHERE id = ?", {S(id)}), ToAccount);
}

util::Status IamStore::InsertAccount(const AccountRow& a) {
  MLV_TRY(db_.Exec(kAccounts.InsertSql(), kAccounts.Values(a)));
  return util::Ok();
}

util::Result<std::optional<UserRow>> IamStore::FindUserByCrn(std::string_view crn) {
  return One<UserRow>(db_.Query(kUsers.SelectSql() + "WHERE crn = ?", {S(crn)}), ToUser);
}

util::Result<std::optional<UserRow>> IamStore::FindUserByName(std::string_view account_id,
                                                              std::string_view name) {
  return One<UserRow>(
      db_.Query(kUsers.SelectSql() + "WHERE account_id = ? AND name = ?", {S(account_id), S(name)}),
      ToUser);
}

util::Result<std::vector<UserRow>> IamStore::ListUsers(std::string_view account_id) {
  return All<UserRow>(
      db_.Query(kUsers.SelectSql() + "WHERE account_id = ? ORDER BY name", {S(account_id)}),
      ToUser);
}

util::Status IamStore::InsertUser(const UserRow& u) {
  MLV_TRY(db_.Exec(kUsers.InsertSql(), kUsers.Values(u)));
  return util::Ok();
}

util::Result<std::optional<AccessKeyRow>> IamStore::FindAccessKey(std::string_view id) {
  return One<AccessKeyRow>(db_.Query(kKeys.SelectSql() + "WHERE access_key_id = ?", {S(id)}),
                           ToKey);
}

util::Result<std::vector<AccessKeyRow>> IamStore::ListAccessKeys(std::string_view user_crn) {
  return All<AccessKeyRow>(
      db_.Query(kKeys.SelectSql() + "WHERE user_crn = ? ORDER BY created_at, access_key_id",
                {S(user_crn)}),
      ToKey);
}

util::Status IamStore::InsertAccessKey(const AccessKeyRow& k) {
  // Not kKeys.InsertSql(): a new key is active and has no deleted_at (NULL, not "").
  MLV_TRY(
      db_.Exec("INSERT INTO iam_access_keys (access_key_id, account_id, user_crn, secret_verifier, "
               "status, created_at) "
               "VALUES (?, ?, ?, ?, 'active', ?)",
               {k.access_key_id, k.account_id, k.user_crn, k.secret_verifier, k.created_at}));
  return util::Ok();
}

util::Result<bool> IamStore::DeleteAccessKey(std::string_view id, std::string_view deleted_at) {
  int64_t n =
      MLV_TRY(db_.Exec("UPDATE iam_access_keys SET status = 'deleted', deleted_at = ? WHERE "
                       "access_key_id = ? AND status = 'active'",
                       {S(deleted_at), S(id)}));
  return n > 0;
}

util::Result<std::optional<PolicyRow>> IamStore::FindPolicyByName(std::string_view account_id,
                                                                  std::string_view name) {
  return One<PolicyRow>(
      db_.Query(kPolicySelect + "WHERE p.account_id = ? AND p.name = ?", {S(account_id), S(name)}),
      ToPolicy);
}

util::Result<std::optional<PolicyRow>> IamStore::FindPolicyByCrn(std::string_view crn) {
  return One<PolicyRow>(db_.Query(kPolicySelect + "WHERE p.crn = ?", {S(crn)}), ToPolicy);
}

util::Result<std::vector<PolicyRow>> IamStore::ListPolicies(std::string_view account_id) {
  return All<PolicyRow>(
      db_.Query(kPolicySelect + "WHERE p.account_id = ? ORDER BY p.name", {S(account_id)}),
      ToPolicy);
}

util::Status IamStore::InsertPolicy(const PolicyRow& p) {
  MLV_TRY(db_.Exec(kPolicies.InsertSql(), kPolicies.Values(p)));
  return util::Ok();
}

util::Result<bool> IamStore::DeletePolicy(std::string_view crn) {
  int64_t n = MLV_TRY(db_.Exec("DELETE FROM iam_policies WHERE crn = ?", {S(crn)}));
  return n > 0;
}

util::Result<bool> IamStore::Attach(std::string_view user_crn, std::string_view policy_crn,
                                    std::string_view at) {
  auto existing =
      MLV_TRY(db_.Query("SELECT 1 FROM iam_user_policies WHERE user_crn = ? AND policy_crn = ?",
                        {S(user_crn), S(policy_crn)}));
  if (!existing.empty()) return false;
  MLV_TRY(
      db_.Exec("INSERT INTO iam_user_policies (user_crn, policy_crn, attached_at) VALUES (?, ?, ?)",
               {S(user_crn), S(policy_crn), S(at)}));
  return true;
}

util::Result<bool> IamStore::Detach(std::string_view user_crn, std::string_view policy_crn) {
  int64_t n =
      MLV_TRY(db_.Exec("DELETE FROM iam_user_policies WHERE user_crn = ? AND policy_crn = ?",
                       {S(user_crn), S(policy_crn)}));
  return n > 0;
}

util::Result<std::vector<PolicyRow>> IamStore::PoliciesOfUser(std::string_view user_crn) {
  return All<PolicyRow>(
      db_.Query(kPolicySelect + "JOIN iam_user_policies a ON a.policy_crn = p.crn "
                                "WHERE a.user_crn = ? ORDER BY p.name",
                {S(user_crn)}),
      ToPolicy);
}

util::Result<std::vector<std::string>> IamStore::UsersOfPolicy(std::string_view policy_crn) {
  return All<std::string>(
      db_.Query("SELECT user_crn FROM iam_user_policies WHERE policy_crn = ? ORDER BY user_crn",
                {S(policy_crn)}),
      [](const Row& r) { return r.Text(0); });
}

util::Result<int64_t> IamStore::CountAdministratorKeys(std::string_view account_id,
                                                       std::string_view except_key_id,
                                                       std::string_view except_user_crn) {
  auto rows = MLV_TRY(db_.Query(
      "SELECT COUNT(*) FROM iam_access_keys k JOIN iam_user_policies a ON a.user_crn = k.user_crn "
      "JOIN iam_policies p ON p.crn = a.policy_crn "
      "WHERE k.account_id = ? AND k.status = 'active' AND p.name = 'AdministratorAccess' "
      "AND k.access_key_id <> ? AND k.user_crn <> ?",
      {S(account_id), S(except_key_id), S(except_user_crn)}));
  return rows.empty() ? 0 : rows[0].Int(0);
}

util::Result<bool> IamStore::HasEntitlement(std::string_view account_id, std::string_view name) {
  auto rows = MLV_TRY(db_.Query("SELECT 1 FROM iam_entitlements WHERE account_id = ? AND name = ?",
                                {S(account_id), S(name)}));
  return !rows.empty();
}

util::Result<std::optional<EntitlementRow>> IamStore::GetEntitlement(std::string_view account_id,
                                                                     std::string_view name) {
  return One<EntitlementRow>(
      db_.Query(kEntitlements.SelectSql() + "WHERE account_id = ? AND name = ?",
                {S(account_id), S(name)}),
      ToEntitlement);
}

util::Result<bool> IamStore::Grant(const EntitlementRow& e) {
  if (MLV_TRY(HasEntitlement(e.account_id, e.name))) return false;
  MLV_TRY(db_.Exec(kEntitlements.InsertSql(), kEntitlements.Values(e)));
  return true;
}

util::Result<bool> IamStore::Revoke(std::string_view account_id, std::string_view name) {
  int64_t n = MLV_TRY(db_.Exec("DELETE FROM iam_entitlements WHERE account_id = ? AND name = ?",
                               {S(account_id), S(name)}));
  return n > 0;
}

util::Result<std::vector<EntitlementRow>> IamStore::ListEntitlements(std::string_view account_id) {
  return All<EntitlementRow>(
      db_.Query(kEntitlements.SelectSql() + "WHERE account_id = ? ORDER BY name", {S(account_id)}),
      ToEntitlement);
}

}  // namespace mlvault::control
