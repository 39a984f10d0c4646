#!/usr/bin/env bash
# Backup contents end to end (issue 16) on real seeded workspaces: describe-backup-contents
# (read from the backup, not the live workspace; pages; table), diff-backups around a scripted
# change (exactly that change), search-backups by item and by path, restore-files (contents,
# conflicts, and no write outside the target whatever the backup's names or the target holds).
source "$(dirname "$0")/lib.sh" "$@"

sha() { sha256sum "$1" | cut -d' ' -f1; }
# project_id <ws> <name>
project_id() { api "$1" GET /api/v1/projects | jq -r --arg n "$2" '.projects[] | select(.name == $n) | .id'; }

echo "-- a seeded workspace and its first backup"
expect 0 "create-environment dev" create-environment --environment-name dev
grant_backup_entitlement
WS=$(create_workspace dev ws1)
seed "$WS"
SNAP=$(snapshot "$WS")
expect 0 "backup A" backup-workspace --workspace-crn "$WS" --backup-name a --wait
A=$(j .backupCrn)

echo "-- describe-backup-contents"
expect 0 "describe-backup-contents" describe-backup-contents --backup-crn "$A"
check "the answer has backupCrn, computedAt, summary, items" has_keys . backupCrn computedAt summary items
check "summary: 3 projects, 2 jobs, 1 experiment, 1 model, 1 build, 1 deployment, 1 application" \
  test "$(j '[.summary.projects,.summary.jobs,.summary.experiments,.summary.models,.summary.builds,.summary.deployments,.summary.applications] | join(",")')" = "3,2,1,1,1,1,1"
check "experiment runs as in the workspace" test "$(j .summary.experimentRuns)" = "$(jq '[.projects[].experiments[].runs | length] | add' <<<"$SNAP")"
check "project names as in the workspace" test "$(j '[.items[] | select(.itemType=="project") | .name] | sort | join(",")')" = \
  "$(jq -r '[.projects[].name] | sort | join(",")' <<<"$SNAP")"
check "file count per project as in the workspace" test "$(j '[.items[] | select(.itemType=="project") | "\(.name)=\(.files)"] | sort | join(",")')" = \
  "$(jq -r '[.projects[] | "\(.name)=\(.files | length)"] | sort | join(",")' <<<"$SNAP")"
check "bytes per project as in the workspace" test "$(j '[.items[] | select(.itemType=="project") | "\(.name)=\(.bytes)"] | sort | join(",")')" = \
  "$(jq -r '[.projects[] | "\(.name)=\([.files[].size] | add)"] | sort | join(",")' <<<"$SNAP")"
expect 0 "--item-type model" describe-backup-contents --backup-crn "$A" --item-type model
check "model churn with build 1 and its deployment on build 1" \
  test "$(j '.items[0] | "\(.name) \(.builds[0].number) \(.deployments[0].build) \(.deployments | length)"')" = "churn 1 1 1"
expect 0 "--item-type experiment" describe-backup-contents --backup-crn "$A" --item-type experiment
check "experiment runs carry params and metrics" test "$(j '[.items[0].runs[] | select((.params | length) > 0 and (.metrics | length) > 0)] | length')" = \
  "$(j '.items[0].runs | length')"
expect 0 "--item-type job" describe-backup-contents --backup-crn "$A" --item-type job
check "job train ran once and succeeded" test "$(j '.items[] | select(.name=="train") | "\(.runs) \(.lastRunStatus)"')" = "1 succeeded"
expect 0 "--item-type file, pages of 5" describe-backup-contents --backup-crn "$A" --item-type file --max-items 5
TOTAL=$(jq '[.projects[].files | length] | add' <<<"$SNAP")
N=$(j '.items | length'); TOKEN=$(j '.nextToken // empty'); PAGES=1
FILE_TOKEN=$TOKEN; j '.items[].name' >"$MLVAULT_HOME/paged.txt"
while [ -n "$TOKEN" ] && [ "$PAGES" -lt 100 ]; do
  mlv describe-backup-contents --backup-crn "$A" --item-type file --max-items 5 --starting-token "$TOKEN"
  N=$((N + $(j '.items | length'))); TOKEN=$(j '.nextToken // empty'); PAGES=$((PAGES + 1))
  j '.items[].name' >>"$MLVAULT_HOME/paged.txt"
done
check "no path twice, in path order (keyset pages)" test "$(LC_ALL=C sort -u "$MLVAULT_HOME/paged.txt")" = "$(cat "$MLVAULT_HOME/paged.txt")"
expect 2 "a token of the file listing is refused for items" describe-backup-contents --backup-crn "$A" --starting-token "$FILE_TOKEN"
check "saying so" err_has "listing of files"
expect 0 "every item at once" describe-backup-contents --backup-crn "$A" --max-items 1000
ALL_ITEMS=$(jq -c '[.items[] | "\(.itemType):\(.name)"]' <<<"$OUT")
ITEMS=""; TOKEN=""
for _ in $(seq 1 200); do
  mlv describe-backup-contents --backup-crn "$A" --max-items 2 ${TOKEN:+--starting-token "$TOKEN"}
  ITEMS="$ITEMS$(j '.items[] | "\(.itemType):\(.name)"')"$'\n'; TOKEN=$(j '.nextToken // empty')
  [ -z "$TOKEN" ] && break
done
check "pages of 2 items give the same items in the same order" test "$(jq -R . <<<"${ITEMS%$'\n'}" | jq -sc .)" = "$ALL_ITEMS"
BUILD_FILES=$(jq '[.models[].builds[].files | length + 1] | add' <<<"$SNAP")  # + manifest.json
check "the pages together list every project and build file once ($N)" test "$N" = $((TOTAL + BUILD_FILES))
check "more than one page" test "$PAGES" -gt 1
expect 0 "--output table" --output table describe-backup-contents --backup-crn "$A"
check "table columns: detail name itemType project" grep -Eq "^detail +name +itemType +project *$" <<<"$OUT"
check "table shows the model's builds" grep -Eq "^1 builds, 1 deployments +churn +model +churn-prediction" <<<"$OUT"
expect 2 "a bad --item-type" describe-backup-contents --backup-crn "$A" --item-type models
check "the error names the flag" err_has "--item-type"
expect 2 "a forged --starting-token" describe-backup-contents --backup-crn "$A" --starting-token xyz
expect 2 "--max-items 0" describe-backup-contents --backup-crn "$A" --max-items 0
expect 3 "an unknown backup" describe-backup-contents --backup-crn "${A%:*}:00000000-0000-4000-8000-000000000000"

echo "-- read from the backup, not the live workspace"
sql "DELETE FROM backup_inventory_files; DELETE FROM backup_inventory_items; DELETE FROM backup_inventories"
DATA_ID=$(project_id "$WS" shared-datasets)
api "$WS" PUT "/api/v1/projects/$DATA_ID/files/late.txt" --data-binary 'written after the backup' >/dev/null
expect 0 "describe-backup-contents recomputes from the backup" describe-backup-contents --backup-crn "$A" --item-type file --max-items 1000
check "a file written after the backup is not in it" test "$(j '[.items[] | select(.name | endswith("late.txt"))] | length')" = 0
check "the recomputed inventory is cached" test "$(sql "SELECT COUNT(*) FROM backup_inventories")" = 1
api "$WS" DELETE "/api/v1/projects/$DATA_ID/files/late.txt" >/dev/null

echo "-- a scripted change, then diff-backups"
CHURN_ID=$(project_id "$WS" churn-prediction)
SALES_ID=$(project_id "$WS" sales-dashboard)
api "$WS" PUT "/api/v1/projects/$CHURN_ID/files/data/new.csv" --data-binary $'a,b\n1,2\n' >/dev/null
api "$WS" PUT "/api/v1/projects/$CHURN_ID/files/README.md" --data-binary '# churn, rewritten' >/dev/null
api "$WS" DELETE "/api/v1/projects/$SALES_ID/files/data/sales.csv" >/dev/null
api "$WS" POST "/api/v1/projects/$DATA_ID/experiments" -H 'Content-Type: application/json' -d '{"name":"e2"}' >/dev/null
expect 0 "backup B" backup-workspace --workspace-crn "$WS" --backup-name b --wait
B=$(j .backupCrn)
expect 0 "diff-backups A B" diff-backups --from-backup-crn "$A" --to-backup-crn "$B"
check "files added: exactly data/new.csv (8 bytes)" test "$(jq -c '.changes.files.added' <<<"$OUT")" = '[{"path":"projects/churn-prediction/data/new.csv","size":8}]'
check "files removed: exactly sales.csv" test "$(j '[.changes.files.removed[].path] | join(",")')" = "projects/sales-dashboard/data/sales.csv"
check "files changed: exactly the README, with both sizes" test "$(j '.changes.files.changed | map("\(.path) \(.fromSize)->\(.toSize)") | join(",")')" = \
  "projects/churn-prediction/README.md $(jq -r '.projects[] | select(.name=="churn-prediction") | .files[] | select(.path=="README.md") | .size' <<<"$SNAP")->18"
check "experiments added: exactly e2" test "$(j '.changes.experiments | "\(.added | join(",")) \(.removed | length) \(.changed | length)"')" = "e2 0 0"
check "projects changed: the two whose files changed" test "$(j '[.changes.projects.changed[].name] | sort | join(",")')" = "churn-prediction,sales-dashboard"
check "no project added or removed" test "$(j '.changes.projects.added + .changes.projects.removed | length')" = 0
check "nothing else changed" test "$(j '[.changes.jobs, .changes.models, .changes.builds, .changes.deployments, .changes.applications, .changes.experimentRuns] | map(.added + .removed + .changed) | add | length')" = 0
expect 0 "diff-backups B A is the inverse" diff-backups --from-backup-crn "$B" --to-backup-crn "$A"
check "removed and added swap" test "$(j '[.changes.files.removed[].path, .changes.experiments.removed[]] | join(",")')" = "projects/churn-prediction/data/new.csv,e2"
expect 3 "diff with an unknown backup" diff-backups --from-backup-crn "$A" --to-backup-crn "${A%:*}:00000000-0000-4000-8000-000000000000"
check "the error names the flag" err_has "--to-backup-crn"

echo "-- backups by name: --backup-name with --workspace-name + --environment-name"
BYWS=(--workspace-name ws1 --environment-name dev)
expect 0 "describe-backup-contents by name" describe-backup-contents --backup-name a "${BYWS[@]}" --item-type model
check "the backup named" test "$(j .backupCrn)" = "$A"
expect 0 "diff-backups by names" diff-backups --from-backup-name a --to-backup-name b "${BYWS[@]}"
check "the same change as by CRNs" test "$(jq -c '.changes.files.added' <<<"$OUT")" = '[{"path":"projects/churn-prediction/data/new.csv","size":8}]'
check "answering both CRNs" test "$(j '"\(.fromBackupCrn) \(.toBackupCrn)"')" = "$A $B"
expect 0 "diff-backups: one by CRN, one by name" diff-backups --from-backup-crn "$A" --to-backup-name b --workspace-crn "$WS"
check "the same backups" test "$(j '"\(.fromBackupCrn) \(.toBackupCrn)"')" = "$A $B"
expect 2 "both a CRN and a name" describe-backup-contents --backup-crn "$A" --backup-name a "${BYWS[@]}"
check "says not both" err_has "(not both)"
expect 2 "neither a CRN nor a name" describe-backup-contents
check "says what to give" err_has "give --backup-crn, or --backup-name"
expect 2 "diff-backups: --from-backup-crn and --from-backup-name" diff-backups --from-backup-crn "$A" --from-backup-name a --to-backup-name b "${BYWS[@]}"
check "names the from flags" err_has "--from-backup-crn, or --from-backup-name"
expect 2 "diff-backups without a to backup" diff-backups --from-backup-name a "${BYWS[@]}"
check "names --to-backup-crn" err_has "give --to-backup-crn, or --to-backup-name"
expect 3 "an unknown backup name" describe-backup-contents --backup-name nope "${BYWS[@]}"
check "names it" err_has 'no backup named "nope" in workspace "ws1" of environment "dev"'
expect 3 "diff-backups: an unknown to name" diff-backups --from-backup-name a --to-backup-name zz "${BYWS[@]}"
check "names the flag and the name" err_has '--to-backup-name: no backup named "zz"'
expect 3 "an unknown workspace name" describe-backup-contents --backup-name a --workspace-name nows --environment-name dev
check "names the workspace" err_has 'no backup named "a" in workspace "nows"'

echo "-- search-backups"
expect 0 "search model:churn build:1" search-backups --query 'model:churn build:1'
check "both backups, newest first" test "$(j '[.backups[].backupName] | join(",")')" = "b,a"
check "each names what matched" test "$(j '.backups[0].matched | sort | join(",")')" = "build:1,model:churn"
expect 0 "search experiment:e2" search-backups --query 'experiment:e2'
check "only B holds e2" test "$(j '[.backups[].backupName] | join(",")')" = "b"
expect 0 "search build:build-1 (any model)" search-backups --query 'build:build-1'
check "both backups" test "$(j '.backups | length')" = 2
expect 0 "search model:churn build:2" search-backups --query 'model:churn build:2'
check "no backup has build 2" test "$(j '.backups | length')" = 0
expect 0 "search --path" search-backups --path 'projects/churn-prediction/data/*.csv'
check "both backups hold csv files there" test "$(j '[.backups[].backupName] | join(",")')" = "b,a"
check "B's matches include new.csv, A's do not" test "$(j '[.backups[] | "\(.backupName):\(.matched | index("projects/churn-prediction/data/new.csv") != null)"] | join(",")')" = "b:true,a:false"
expect 0 "search --path with **" search-backups --path 'projects/**/sales.csv'
check "only A holds sales.csv" test "$(j '[.backups[].backupName] | join(",")')" = "a"
expect 0 "search --output table" --output table search-backups --query 'model:churn'
check "table: one row per backup" test "$(grep -c 'ws1' <<<"$OUT")" = 2
expect 2 "a query without type:name" search-backups --query 'churn'
expect 2 "an unknown type" search-backups --query 'dataset:x'
expect 2 "neither --query nor --path" search-backups
sql "DELETE FROM backup_inventory_files; DELETE FROM backup_inventory_items; DELETE FROM backup_inventories"
expect 0 "search indexes backups that have no inventory yet" search-backups --query 'experiment:e2'
check "two backups indexed, B found" test "$(j '"\(.backupsIndexed) \([.backups[].backupName] | join(","))"')" = "2 b"

echo "-- search-backups lists only backups of workspaces the caller may search"
"$MLVAULT" create-user --user-name searcher >/dev/null
printf '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ml:SearchBackups"], "Resource": "*"}]}' >"$MLVAULT_HOME/search.json"
printf '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": ["ml:SearchBackups"], "Resource": "%s"}]}' "$WS" >"$MLVAULT_HOME/deny.json"
"$MLVAULT" create-policy --policy-name search --policy-document "file://$MLVAULT_HOME/search.json" >/dev/null
"$MLVAULT" create-policy --policy-name deny-ws1 --policy-document "file://$MLVAULT_HOME/deny.json" >/dev/null
"$MLVAULT" attach-policy --user-name searcher --policy-name search >/dev/null
"$MLVAULT" create-access-key --user-name searcher --save-profile searcher >/dev/null
expect 0 "a user allowed to search" --profile searcher search-backups --query 'model:churn'
check "finds both backups" test "$(j '.backups | length')" = 2
"$MLVAULT" attach-policy --user-name searcher --policy-name deny-ws1 >/dev/null
expect 0 "the same user, denied on workspace ws1" --profile searcher search-backups --query 'model:churn'
check "finds none of ws1's backups" test "$(j '.backups | length')" = 0
expect 4 "a user without ml:SearchBackups" --profile searcher describe-backup-contents --backup-crn "$A"

echo "-- restore-files"
T=$MLVAULT_HOME/out
expect 0 "restore-files projects/churn-prediction/**" restore-files --backup-crn "$A" --path 'projects/churn-prediction/**' --target "$T"
check "every file of the project, as many as in the workspace" test "$(j .files)" = \
  "$(jq '.projects[] | select(.name=="churn-prediction") | .files | length' <<<"$SNAP")"
ok=true
while read -r p s; do
  [ "$(sha "$T/projects/churn-prediction/$p")" = "$s" ] || { ok=false; echo "    differs: $p"; }
done < <(jq -r '.projects[] | select(.name=="churn-prediction") | .files[] | "\(.path) \(.sha256)"' <<<"$SNAP")
check "every byte as at backup time (SHA-256)" $ok
check "the README is the one of backup A, not the rewritten one" test "$(head -c 17 "$T/projects/churn-prediction/README.md")" != "# churn, rewritten"
check "nothing else was written" test "$(find "$T" -type f | wc -l)" = "$(j .files)"
expect 5 "again without --overwrite is a conflict" restore-files --backup-crn "$A" --path 'projects/churn-prediction/README.md' --target "$T"
check "the error says --overwrite" err_has "--overwrite"
expect 0 "again with --overwrite" restore-files --backup-crn "$A" --path 'projects/churn-prediction/README.md' --target "$T" --overwrite
expect 0 "restore-files by backup name" restore-files --backup-name a --workspace-name ws1 --environment-name dev \
  --path 'projects/churn-prediction/README.md' --target "$MLVAULT_HOME/by-name"
check "wrote the file of backup a" cmp -s "$MLVAULT_HOME/by-name/projects/churn-prediction/README.md" "$T/projects/churn-prediction/README.md"
expect 2 "restore-files with neither --backup-crn nor --backup-name" restore-files --path 'projects/**' --target "$T"
expect 0 "a build's files" restore-files --backup-crn "$A" --path 'models/churn/build-1/**' --target "$T"
check "the build's manifest is among them" test -s "$T/models/churn/build-1/manifest.json"
expect 3 "a glob matching nothing" restore-files --backup-crn "$A" --path 'projects/nope/**' --target "$T"
check "the error names the flag" err_has "--path"
expect 2 "an absolute glob" restore-files --backup-crn "$A" --path '/etc/**' --target "$T"

echo "-- restore-files never writes outside the target"
OUTSIDE=$MLVAULT_HOME/outside; mkdir -p "$OUTSIDE"
EVIL=$(api "$WS" POST /api/v1/projects -H 'Content-Type: application/json' -d '{"name":"../../escape"}' | jq -r .id)
api "$WS" PUT "/api/v1/projects/$EVIL/files/pwned.txt" --data-binary 'should never leave the target' >/dev/null
expect 0 "backup C with a project named ../../escape" backup-workspace --workspace-crn "$WS" --backup-name c --wait
C=$(j .backupCrn)
T2=$MLVAULT_HOME/t2/deep
expect 2 "restore-files refuses the unsafe name" restore-files --backup-crn "$C" --path 'projects/**/pwned.txt' --target "$T2"
check "the error names the unsafe path" err_has "unsafe component"
check "nothing was written outside the target" test -z "$(find "$MLVAULT_HOME" -path "$MLVAULT_HOME/environments" -prune -o -name pwned.txt -print)"
check "nor inside it" test ! -e "$T2/projects"
T3=$MLVAULT_HOME/t3; mkdir -p "$T3"; ln -s "$OUTSIDE" "$T3/projects"
expect 2 "a symbolic link in the target is not followed" restore-files --backup-crn "$A" --path 'projects/churn-prediction/**' --target "$T3"
check "the error names the link" err_has "not a folder"
check "nothing was written through it" test -z "$(ls -A "$OUTSIDE")"
