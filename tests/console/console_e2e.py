"""The web console end to end, in a real headless Chromium against a real `mlvault server`
(started by console_test.sh with real workspaces): log in; back up a workspace and watch the
progress reach the end; open the backup and verify it; restore it through the wizard (an invalid
field first: the error shows at that field) and open the new workspace's endpoint; delete a
backup; a read-only user sees disabled buttons and a refused request; logout ends the session.
Screenshots go to $SHOTS (build/console-screenshots/)."""
import json
import os
import sys
import time
import traceback
import urllib.request

from browser import DESKTOP, PHONE, Browser, Report

E = os.environ
NEW_BACKUP = E.get("NEW_BACKUP", "console-1")
RESTORED = E.get("RESTORED", "restored-1")
SEED = E.get("SEED_BACKUP", "seed-1")
MIN_INSTANCES = 'newWorkspaceParameters.provisionK8sRequest.instanceGroups[0].autoscaling.minInstances'


def field_error(b, path):
    ctl = b.css(f'[data-field="{path}"]')
    err = b.js("return document.getElementById(arguments[0].id + '-error').textContent", ctl)
    return ctl.get_attribute("aria-invalid") == "true", err


def scenario(b, r):
    print("-- login", flush=True)
    b.open()
    b.visible("#access-key-id")
    b.shot("01-login")
    b.fill("#access-key-id", E["ADMIN_KEY_ID"])
    b.set_value(b.css("#private-key"), "bm90IGEga2V5")  # "not a key": refused in the browser
    b.css("#login-submit").click()
    r.check("a malformed private key is refused before anything is sent", b.text_in("#login-status", "32 bytes"))
    b.login(E["ADMIN_KEY_ID"], E["ADMIN_KEY"])
    r.check("the admin is logged in", b.css(".user-name").text == "admin")
    b.css(f'tr[data-workspace="{E["WS"]}"]')
    b.wait(lambda d: "B" in d.find_element("id", "total-vault-size").text, 60, "a vault size")
    r.check("the overview lists the workspace as protected",
            "protected" in b.css(f'tr[data-workspace="{E["WS"]}"]').text)
    r.check("the overview shows a total vault size", "B" in b.css("#total-vault-size").text)
    b.shot("02-overview")
    b.shot("02-overview-phone", PHONE)
    b.viewport(PHONE)
    r.check("the overview fits a 390 px wide phone without sideways scrolling", b.no_horizontal_scroll())
    b.viewport(DESKTOP)

    r.check("every control of the overview has a label", not b.unlabelled(), str(b.unlabelled()))

    print("-- back up now (reached with the keyboard)", flush=True)
    r.check("Tab reaches the workspace's link", b.tab_to(f'tr[data-workspace="{E["WS"]}"] a'))
    b.press_enter()
    b.heading(f"Workspace {E['WS']}")
    b.css(f'tr[data-backup="{SEED}"]')
    r.check("every control of the workspace page has a label", not b.unlabelled(), str(b.unlabelled()))
    b.fill('[data-field="backupName"]', NEW_BACKUP)
    b.css("#backup-now").click()
    b.css("#backup-progress progress")
    seen = set()
    deadline = time.time() + 120
    while time.time() < deadline:
        status = b.text("#backup-progress .badge")
        seen.add(status)
        if status in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.1)
    r.check("the progress box followed the backup to its end", status == "succeeded", f"statuses seen {sorted(seen)}")
    r.check("the progress reached 100 %", b.text("#backup-progress .percent") == "100 %",
            b.text("#backup-progress"))
    r.check("bytes done equal bytes total", (lambda t: t.split(" of ")[0] == t.split(" of ")[1])(
        b.text("#backup-progress .bytes")))
    b.css(f'tr[data-backup="{NEW_BACKUP}"]')
    b.shot("03-backup-done")
    b.js("document.querySelector('#backup-progress').closest('section').scrollIntoView()")
    b.shot("03-backup-progress", full=False)  # the README's picture

    print("-- open the backup, verify", flush=True)
    b.css("#open-new-backup").click()
    b.heading(f"Backup {NEW_BACKUP}")
    rows = b.all("main section table tbody tr")
    r.check("the backup page lists three recovery points", len(rows) >= 3, f"{len(rows)} rows")
    r.check("the quiesce window is shown", b.css("#quiesce-window").text not in ("", "–"))
    b.css("#verify-read-data").click()
    b.css("#verify").click()
    b.text_in("#verify-result", "Verified", 120)
    r.check("verify --read-data says the backup is restorable", "data read back" in b.css("#verify-result").text)
    b.shot("04-backup")

    print("-- a workspace with 1,000 backups", flush=True)
    ms, sized = b.d.execute_async_script("""
        const hash = arguments[0], done = arguments[arguments.length - 1];
        const t0 = performance.now();
        let shown = -1;
        location.hash = hash;
        const poll = () => {
          const t = performance.now() - t0;
          const rows = document.querySelectorAll('#backups tbody tr');
          const info = document.getElementById('page-info');
          if (shown < 0 && rows.length === 50 && info && info.textContent.includes('1000 backups')) shown = t;
          const pending = [...rows].some(r => r.textContent.includes('\u2026'));
          if (shown >= 0 && !pending) done([shown, t]);
          else if (t > 30000) done([shown, -1]);
          else requestAnimationFrame(poll);
        };
        poll();""", f"#/workspace/{E['MANY_CRN']}")
    print(f"   1,000 backups: first page shown in {ms:.0f} ms, its sizes filled in {sized:.0f} ms", flush=True)
    r.check("the page of a workspace with 1,000 backups shows its first 50 (of 1000)", ms >= 0)
    r.check("the sizes of the visible page are filled in", sized >= 0)
    # How fast is not asserted here (a loaded machine took just over 5 s once): the figure is
    # printed, and speed is measured by bench/, not by tests.
    b.css("#backups .pager button:last-child").click()
    b.text_in("#page-info", "Page 2 of 20")
    r.check("the pager moves to the next 50", b.css('#backups tbody tr').get_attribute("data-backup") == "b-0051")
    b.shot("05-many-backups")

    print("-- plots and workflows", flush=True)
    b.go(f"#/plots/{E['WS_CRN']}")
    b.css("#plot-vault-size canvas")
    r.check("the plots page draws three charts", len(b.all(".plot canvas")) >= 3)
    b.shot("06-plots")
    b.go("#/workflows")
    b.css("#workflow-list tr[data-workflow]")
    r.check("the workflows page lists the backup's workflow", "backup" in b.css("#workflow-list").text)
    b.shot("07-workflows")
    b.css("#workflow-list tr[data-workflow] a").click()
    b.css(".timeline li")
    r.check("a workflow has a timeline of phases", len(b.all(".timeline li")) >= 2)

    print("-- restore wizard", flush=True)
    b.go(f"#/backup/{E['SEED_BACKUP_CRN']}")
    b.heading(f"Backup {SEED}")
    b.css("#restore-link").click()
    b.heading(f"Restore backup {SEED}")
    b.fill('[data-field="newWorkspaceParameters.workspaceName"]', RESTORED)
    r.check("every control of the restore wizard has a label", not b.unlabelled(), str(b.unlabelled()))
    b.viewport(PHONE)
    r.check("the restore wizard fits a 390 px wide phone", b.no_horizontal_scroll())
    b.viewport(DESKTOP)
    b.fill(f'[data-field="{MIN_INSTANCES}"]', "9")
    r.check("the CLI document follows the form",
            json.loads(b.css("#cli-input-json").text)["newWorkspaceParameters"]["provisionK8sRequest"]
            ["instanceGroups"][0]["autoscaling"]["minInstances"] == 9)
    b.css("#restore-submit").click()
    b.wait(lambda d: field_error(b, MIN_INSTANCES)[1] != "", 20, "the error at minInstances")
    invalid, msg = field_error(b, MIN_INSTANCES)
    r.check("the server's error is shown at the minInstances field", invalid and "maxInstances" in msg, msg)
    b.shot("08-restore-invalid-field")
    b.fill(f'[data-field="{MIN_INSTANCES}"]', "1")
    b.css("#restore-submit").click()
    link = b.css("#new-endpoint", 180)
    endpoint = link.get_attribute("href").rstrip("/")
    r.check("the wizard ends with the new workspace's endpoint", endpoint.startswith("http://127.0.0.1:"))
    b.shot("09-restore-done")
    with urllib.request.urlopen(f"{endpoint}/api/v1/health", timeout=10) as resp:
        health = json.load(resp)
    r.check("the new endpoint answers as a healthy, restored workspace", health.get("status") == "ok", str(health))
    b.d.get(f"{endpoint}/api/v1/health")
    r.check("the browser opens the new endpoint", '"status"' in b.d.page_source)
    b.open(f"#/backup/{E['SEED_BACKUP_CRN']}")

    print("-- delete a backup", flush=True)
    b.heading(f"Backup {SEED}")
    button = b.css("#delete-backup")
    b.fill('[data-field="confirmBackupName"]', SEED[:-1])
    r.check("delete stays disabled until the name is typed", not button.is_enabled())
    b.fill('[data-field="confirmBackupName"]', SEED)
    r.check("typing the backup name enables delete", button.is_enabled())
    button.click()
    b.text_in("#delete-result", "Deleted", 120)
    b.go(f"#/workspace/{E['WS_CRN']}")
    b.text_in(f'tr[data-backup="{SEED}"]', "deleted")
    r.check("the workspace lists the backup as deleted", True)
    b.shot("10-deleted")

    print("-- access", flush=True)
    b.go("#/access")
    b.css('tr[data-user="viewer"]')
    b.css("#audit-events table")
    r.check("every control of the access page has a label", not b.unlabelled(), str(b.unlabelled()))
    doc = b.css('[data-field="policyDocument"]')
    b.set_value(doc, '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Effect": "Allow" "Action": "*"}\n  ]\n}')
    b.text_in("#policy-validation", "line 4, column", 20)
    r.check("the policy editor shows the parser's line and column as you type", "Go there" in b.css("#policy-validation").text)
    b.shot("11-access")
    b.css("#audit-events table")
    r.check("the audit log lists the console's backup", "ml:BackupWorkspace" in b.css("#audit-events").text)

    print("-- logout", flush=True)
    b.logout()
    r.check("logout ends the session on the server", b.fetch_status("/api/v1/console/session") == 401)
    b.open("#/overview")
    r.check("after logout the console asks to log in", b.visible("#access-key-id").is_displayed())

    print("-- a read-only user", flush=True)
    b.login(E["VIEWER_KEY_ID"], E["VIEWER_KEY"])
    b.link(E["WS"]).click()
    b.heading(f"Workspace {E['WS']}")
    button = b.css("#backup-now")
    b.wait(lambda d: not button.is_enabled(), 20, "Back up now to be disabled")
    reason = b.css("#backup-now + .denied-reason").text
    r.check("Back up now is disabled with the reason from simulate-policy", reason.startswith("Not allowed"), reason)
    b.shot("12-read-only")
    b.js("arguments[0].disabled = false", button)
    b.fill('[data-field="backupName"]', "not-allowed")
    button.click()
    b.wait(lambda d: b.css("form[aria-label='Back up now'] .error").text != "", 20, "the refusal")
    refusal = b.css("form[aria-label='Back up now'] .error").text
    r.check("the server refuses the read-only user's backup anyway", "denied" in refusal.lower() or "not allowed" in refusal.lower(), refusal)
    b.shot("13-read-only-refused")
    b.logout()
    errors = [e for e in b.console_errors() if "Content Security Policy" in e or "Uncaught" in e]
    r.check("no CSP violation or script error in the browser console", not errors, "; ".join(errors[:3]))


def main():
    r = Report()
    b = Browser(E["BASE_URL"], E["SHOTS"], r)
    t0 = time.time()
    try:
        scenario(b, r)
    except Exception:
        traceback.print_exc()
        r.check("the scenario ran to its end", False)
        try:
            b.shot("failure")
        except Exception:
            pass
    finally:
        b.quit()
    print(f"== console_e2e: {r.passed} passed, {r.failed} failed in {time.time() - t0:.0f}s; screenshots in {E['SHOTS']}")
    sys.exit(1 if r.failed else 0)


if __name__ == "__main__":
    main()
